package m365test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"
)

// SentMail is a message sent through Graph's sendMail, as recorded by the
// fake for tests to read with [Server.SentMail].
type SentMail struct {
	Time   time.Time
	Tenant string // tenant GUID
	// From is the user principal name of the mailbox that sent it.
	From            string
	Subject         string
	ContentType     string // "text" or "html"
	Body            string
	To, Cc, Bcc     []string
	SaveToSentItems bool
}

type recipient struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"emailAddress"`
}

type sendMailRequest struct {
	Message *struct {
		Subject string `json:"subject"`
		Body    struct {
			ContentType string `json:"contentType"`
			Content     string `json:"content"`
		} `json:"body"`
		ToRecipients  []recipient `json:"toRecipients"`
		CcRecipients  []recipient `json:"ccRecipients"`
		BccRecipients []recipient `json:"bccRecipients"`
	} `json:"message"`
	SaveToSentItems *jsonBool `json:"saveToSentItems"`
}

// jsonBool is a Boolean Graph reads from true/false or, as the sendMail
// reference's Example 1 sends it, "true"/"false".
type jsonBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *jsonBool) UnmarshalJSON(data []byte) error {
	var v bool
	if err := json.Unmarshal(data, &v); err == nil {
		*b = jsonBool(v)
		return nil
	}
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return err
	}
	switch strings.ToLower(str) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return &json.UnsupportedValueError{Str: str}
	}
	return nil
}

func addresses(rs []recipient) ([]string, bool) {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		a := strings.TrimSpace(r.EmailAddress.Address)
		if a == "" || !strings.Contains(a, "@") {
			return nil, false
		}
		out = append(out, a)
	}
	return out, true
}

// handleSendMail is POST /v1.0/users/{id}/sendMail (and /me/sendMail).
func (s *Server) handleSendMail(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permMail)
	if !ok {
		return
	}
	id := r.PathValue("id")
	from := p.user
	if id != "" {
		u, found := p.tenant.dir.User(id)
		if !found {
			s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "ErrorInvalidUser", msg: "The requested user '" + id + "' is invalid."})
			return
		}
		if p.delegated && u.ID != p.user.ID {
			s.writeGraphError(w, r, &graphError{status: http.StatusForbidden, code: "ErrorAccessDenied", msg: "Access is denied. Check credentials and try again."})
			return
		}
		from = u
	} else if !p.delegated {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "/me request is only valid with delegated authentication flow."})
		return
	}
	if ge := s.mailFault(p.tenant.ID, from.ID); ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "text/plain" {
		s.sendMIME(w, r, p, from.UserPrincipalName)
		return
	}
	var req sendMailRequest
	if err := readJSONBody(r, &req); err != nil || req.Message == nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "ErrorInvalidRequest", msg: "Cannot read the request body."})
		return
	}
	to, ok1 := addresses(req.Message.ToRecipients)
	cc, ok2 := addresses(req.Message.CcRecipients)
	bcc, ok3 := addresses(req.Message.BccRecipients)
	if !ok1 || !ok2 || !ok3 || len(to)+len(cc)+len(bcc) == 0 {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "ErrorInvalidRecipients",
			msg: "At least one recipient is not valid., Recipient '' is not resolved. All recipients must be resolved before a message can be submitted."})
		return
	}
	ct := strings.ToLower(req.Message.Body.ContentType)
	if ct == "" {
		ct = "text"
	}
	m := SentMail{Time: s.Now(), Tenant: p.tenant.ID, From: from.UserPrincipalName, Subject: req.Message.Subject,
		ContentType: ct, Body: req.Message.Body.Content, To: to, Cc: cc, Bcc: bcc,
		SaveToSentItems: req.SaveToSentItems == nil || bool(*req.SaveToSentItems)}
	s.mu.Lock()
	s.mail = append(s.mail, m)
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// sendMIME sends a message given in MIME format: the body is the MIME
// message base64-encoded, Content-Type text/plain (sendMail reference,
// "Example 4: Send a message using MIME format"). Malformed base64 is 400
// ErrorMimeContentInvalidBase64String "Invalid base64 string for MIME
// content." as the reference documents.
func (s *Server) sendMIME(w http.ResponseWriter, r *http.Request, p *principal, from string) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 4<<20))
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusRequestEntityTooLarge, code: "ErrorMessageSizeExceeded", msg: "The message exceeds the maximum supported size."})
		return
	}
	dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "ErrorMimeContentInvalidBase64String", msg: "Invalid base64 string for MIME content."})
		return
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(dec)))
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "ErrorMimeContentConversionFailed", msg: "The MIME content could not be converted."})
		return
	}
	list := func(h string) ([]string, bool) {
		if msg.Header.Get(h) == "" {
			return nil, true
		}
		as, err := msg.Header.AddressList(h)
		if err != nil {
			return nil, false
		}
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.Address
		}
		return out, true
	}
	to, ok1 := list("To")
	cc, ok2 := list("Cc")
	bcc, ok3 := list("Bcc")
	if !ok1 || !ok2 || !ok3 || len(to)+len(cc)+len(bcc) == 0 {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "ErrorInvalidRecipients",
			msg: "At least one recipient is not valid., Recipient '' is not resolved. All recipients must be resolved before a message can be submitted."})
		return
	}
	body, _ := io.ReadAll(io.LimitReader(msg.Body, 4<<20))
	ct := "text"
	if mt, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); mt == "text/html" {
		ct = "html"
	}
	subject := msg.Header.Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = d
	}
	m := SentMail{Time: s.Now(), Tenant: p.tenant.ID, From: from, Subject: subject, ContentType: ct,
		Body: string(body), To: to, Cc: cc, Bcc: bcc, SaveToSentItems: true}
	s.mu.Lock()
	s.mail = append(s.mail, m)
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// SentMail returns the messages sent through Graph so far, oldest first.
func (s *Server) SentMail() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMail(nil), s.mail...)
}
