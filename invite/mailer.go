package invite

import "context"

// Mailer delivers one message. Implementations: package invite/smtpmail
// (SMTP), invite/graphmail (Microsoft Graph sendMail) and invite/outbox
// (in memory, for development and tests). A Mailer is safe for concurrent
// use.
//
// Send returns nil only once the message was accepted for delivery. The
// message carries a live invitation link: implementations must not log its
// bodies.
type Mailer interface {
	Send(ctx context.Context, msg *Message) error
}

// Message is one email with a plain-text and an HTML part. The sender is
// the Mailer's own configuration. Service fills every field from validated
// input, so To and ReplyTo are bare addresses and Subject has no line
// breaks; Mailers must still refuse header fields with CR or LF.
type Message struct {
	// To is the recipient's bare address (name@example.com).
	To string
	// ReplyTo is where replies go (the provider's support contact); empty
	// means the sender.
	ReplyTo string
	// Subject is a single line.
	Subject string
	// Text is the plain-text part, HTML the HTML part.
	Text string
	HTML string
	// Language is the BCP 47 tag of the content, for the
	// Content-Language header; empty means unknown.
	Language string
}
