// Command portalcrash is the demo portal's crash test: it builds
// ./examples/server, runs it in demo mode on a SQLite data directory,
// starts a user sync of the demo customer fabrikam (app registration mode,
// so its connection survives a restart of the in-process fake), SIGKILLs
// the portal in the middle of it, starts it again on the same data and
// measures how soon the customer syncs again and whether the store ends
// complete. It prints what it measured and exits non-zero when the sync
// does not resume within -within or the store is incomplete.
//
//	go run ./examples/server/cmd/portalcrash -users 20000
//
// With -disk SIZE (for example 6m) the data directory is a tmpfs of that
// size (root and mount(8) needed; skipped with a message otherwise) and
// the run reports what a full disk does to a sync instead.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	customer = "fabrikam"
	token    = "portalcrash-admin-token-0123456789abcdef"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portalcrash:", err)
		os.Exit(1)
	}
}

type options struct {
	users     int
	killAt    float64
	killAfter time.Duration
	within    time.Duration
	timeout   time.Duration
	disk      string
	keep      bool
	qoe       int
}

func run(args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("portalcrash", flag.ContinueOnError)
	fs.IntVar(&o.users, "users", 20000, "users of the demo customer fabrikam's tenant")
	fs.Float64Var(&o.killAt, "kill-at", 0.3, "SIGKILL the portal when this share of the users is read")
	fs.DurationVar(&o.killAfter, "kill-after", 0, "SIGKILL the portal this long after the sync started running, whatever its recorded progress (which the run record updates every 10 s); 0: by -kill-at only")
	fs.DurationVar(&o.within, "within", time.Minute, "the sync must run again within this long of the restart")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.StringVar(&o.disk, "disk", "", "instead: run on a tmpfs data directory of this size (e.g. 6m) and report a full disk")
	fs.IntVar(&o.qoe, "qoe", 0, "instead: place this many demo calls (POST /dev/calls, at most 1000), SIGKILL the portal while their call records are being fetched, restart it and wait until every call is stored")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binary, data, logs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "portalcrash")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	bin := filepath.Join(tmp, "server")
	start := time.Now()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the portal: %w", err)
	}
	fmt.Fprintf(out, "built the portal in %v\n", time.Since(start).Round(time.Millisecond))
	data := filepath.Join(tmp, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if o.disk != "" {
		return diskFull(ctx, out, o, bin, tmp, data)
	}
	if o.qoe > 0 {
		return crashQoE(ctx, out, o, bin, tmp, data)
	}
	return crash(ctx, out, o, bin, tmp, data)
}

// crash kills the portal mid-sync and restarts it.
func crash(ctx context.Context, out io.Writer, o options, bin, tmp, data string) error {
	p, err := startPortal(ctx, o, bin, data, filepath.Join(tmp, "portal-1.log"))
	if err != nil {
		return err
	}
	defer p.stop()
	first, err := p.post(ctx)
	if err != nil {
		return err
	}
	var at syncRun
	posted := time.Now()
	for {
		if at, err = p.get(ctx); err != nil {
			return err
		}
		if at.State == "succeeded" || at.State == "failed" {
			return fmt.Errorf("the sync ended (%s, job %d, %d users) before the kill: raise -users", at.State, at.Job, at.Total)
		}
		if at.Progress.Estimate > 0 && float64(at.Progress.Read) >= o.killAt*float64(at.Progress.Estimate) {
			break
		}
		if o.killAfter > 0 && at.State == "running" && time.Since(posted) >= o.killAfter {
			break
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = p.cmd.Wait()
	killed := time.Now()
	fmt.Fprintf(out, "SIGKILLed the portal mid-sync (job %d) %v after it was asked for; its last progress record: %d of %d users read\n",
		first.Job, killed.Sub(posted).Round(time.Millisecond), at.Progress.Read, at.Progress.Estimate)

	p2, err := startPortal(ctx, o, bin, data, filepath.Join(tmp, "portal-2.log"))
	if err != nil {
		return err
	}
	defer p2.stop()
	up := time.Now()
	fmt.Fprintf(out, "restarted on the same data: serving %v after the kill\n", up.Sub(killed).Round(time.Millisecond))
	// The first look: the dead run must not hold the customer.
	run, err := p2.get(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "run record at restart: state %s, attempt %d", run.State, run.Attempt)
	if run.Error != nil {
		fmt.Fprintf(out, ", %s: %s", run.Error.Code, run.Error.Message)
	}
	fmt.Fprintln(out)
	var again time.Duration
	for again == 0 {
		code, r, err := p2.postStatus(ctx)
		if err != nil {
			return err
		}
		switch {
		case code == http.StatusAccepted:
			again = time.Since(up)
			fmt.Fprintf(out, "a new sync was accepted (202, job %d) %v after the restart\n", r.Job, again.Round(time.Millisecond))
		case code == http.StatusConflict:
			// Running: the given-back job itself, if its heartbeat is live.
			cur, err := p2.get(ctx)
			if err != nil {
				return err
			}
			if cur.State == "running" && (cur.Job != first.Job || cur.Attempt > at.Attempt) && time.Since(cur.Heartbeat) < 30*time.Second {
				again = time.Since(up)
				fmt.Fprintf(out, "the interrupted sync runs again (job %d, attempt %d, live heartbeat) %v after the restart; POST answers 409 while it runs\n",
					cur.Job, cur.Attempt, again.Round(time.Millisecond))
			}
		default:
			return fmt.Errorf("POST users/sync after the restart: HTTP %d", code)
		}
		if again == 0 {
			if time.Since(up) > o.within {
				return fmt.Errorf("no sync ran within %v of the restart (the customer stays locked)", o.within)
			}
			if err := pause(ctx, 100*time.Millisecond); err != nil {
				return err
			}
		}
	}
	var final syncRun
	for {
		if final, err = p2.get(ctx); err != nil {
			return err
		}
		if final.State == "succeeded" || final.State == "failed" {
			break
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	want := o.users + 1 // and the Global Admin
	fmt.Fprintf(out, "the sync %s %v after the restart: %d users stored (want %d), %d added, %d unchanged, %d removed\n",
		final.State, time.Since(up).Round(time.Millisecond), final.Total, want, final.Added, final.Unchanged, final.Removed)
	if final.State != "succeeded" || final.Total != want {
		return errors.New("the store is not complete after the restart")
	}
	fmt.Fprintf(out, "PASS: killed mid-sync and restarted, a sync ran again within %v and the store is complete\n", again.Round(time.Millisecond))
	return nil
}

// crashQoE kills the portal while it fetches call records and restarts it.
func crashQoE(ctx context.Context, out io.Writer, o options, bin, tmp, data string) error {
	p, err := startPortal(ctx, o, bin, data, filepath.Join(tmp, "portal-1.log"))
	if err != nil {
		return err
	}
	defer p.stop()
	body := strings.NewReader(fmt.Sprintf(`{"count": %d}`, o.qoe))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/dev/calls", body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	placedAt := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST /dev/calls: HTTP %d", resp.StatusCode)
	}
	before, err := p.calls(ctx)
	if err != nil {
		return err
	}
	if before >= o.qoe {
		return fmt.Errorf("all %d calls were stored before the kill: raise -qoe", before)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = p.cmd.Wait()
	killed := time.Now()
	fmt.Fprintf(out, "placed %d calls; SIGKILLed the portal %v later with %d of them stored\n", o.qoe, killed.Sub(placedAt).Round(time.Millisecond), before)
	p2, err := startPortal(ctx, o, bin, data, filepath.Join(tmp, "portal-2.log"))
	if err != nil {
		return err
	}
	defer p2.stop()
	up := time.Now()
	for {
		n, err := p2.calls(ctx)
		if err != nil {
			return err
		}
		if n >= o.qoe {
			fmt.Fprintf(out, "every call stored (%d) %v after the restart\n", n, time.Since(up).Round(time.Millisecond))
			break
		}
		if time.Since(up) > o.within {
			return fmt.Errorf("%d of %d calls stored %v after the restart", n, o.qoe, o.within)
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "PASS: killed mid-ingestion and restarted, every call record was fetched within %v\n", o.within)
	return nil
}

// calls counts the demo customer's stored calls (GET qoe/calls, paged).
func (p *portal) calls(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		u := p.base + "/api/customers/contoso/qoe/calls?limit=1000"
		if after != "" {
			u += "&after=" + url.QueryEscape(after)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		var page struct {
			Calls []json.RawMessage `json:"calls"`
			Next  string            `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			return 0, fmt.Errorf("GET qoe/calls: HTTP %d %v", resp.StatusCode, err)
		}
		n += len(page.Calls)
		if page.Next == "" {
			return n, nil
		}
		after = page.Next
	}
}

// diskFull runs the portal on a small tmpfs and syncs until it is full.
func diskFull(ctx context.Context, out io.Writer, o options, bin, tmp, data string) error {
	if err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", "size="+o.disk, "tmpfs", data).Run(); err != nil {
		fmt.Fprintf(out, "SKIP disk-full run: cannot mount a %s tmpfs here (%v); needs root and mount(8)\n", o.disk, err)
		return nil
	}
	defer func() { _ = exec.Command("umount", "-l", data).Run() }()
	p, err := startPortal(ctx, o, bin, data, filepath.Join(tmp, "portal-disk.log"))
	if err != nil {
		fmt.Fprintf(out, "the portal did not start on a %s disk: %v\n", o.disk, err)
		return nil
	}
	defer p.stop()
	code, _, err := p.postStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "POST users/sync on a %s data disk: HTTP %d\n", o.disk, code)
	begin := time.Now()
	var r syncRun
	for time.Since(begin) < 20*time.Second {
		if r, err = p.get(ctx); err != nil {
			break
		}
		if r.State == "succeeded" || r.State == "failed" || (r.State == "retrying" && r.Error != nil) {
			break
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "after %v: run state %s, %d users read, %d stored", time.Since(begin).Round(time.Millisecond), r.State, r.Progress.Read, r.Total)
	if r.Error != nil {
		fmt.Fprintf(out, ", error %s (%s): %s", r.Error.Code, r.Error.Action, r.Error.Message)
	}
	fmt.Fprintln(out)
	resp, err := http.Get(p.base + "/healthz")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(out, "/healthz on the full disk: HTTP %d %q\n", resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

type syncRun struct {
	Job       int64     `json:"job"`
	State     string    `json:"state"`
	Attempt   int       `json:"attempt"`
	Total     int       `json:"total"`
	Added     int       `json:"added"`
	Unchanged int       `json:"unchanged"`
	Removed   int       `json:"removed"`
	Heartbeat time.Time `json:"heartbeat"`
	Progress  struct {
		Read     int   `json:"read"`
		Estimate int64 `json:"estimate"`
	} `json:"progress"`
	Error *struct {
		Code    string `json:"code"`
		Action  string `json:"action"`
		Message string `json:"message"`
	} `json:"error"`
}

type portal struct {
	cmd  *exec.Cmd
	base string
}

// startPortal starts the demo portal on a free port and waits for
// /healthz.
func startPortal(ctx context.Context, o options, bin, data, logPath string) (*portal, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-mode", "demo", "-addr", addr, "-data", data,
		"-demo-users", "10", "-demo-fleet-users", strconv.Itoa(o.users), "-customer", "contoso", "-log-level", "warn")
	cmd.Env = append(os.Environ(), "TENANTGATE_ADMIN_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &portal{cmd: cmd, base: "http://" + addr}
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			p.stop()
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("the portal did not come up: %w\n%s", err, b)
		}
	}
}

func (p *portal) stop() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	}
}

func (p *portal) do(ctx context.Context, method string) (int, syncRun, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.base+"/api/customers/"+customer+"/users/sync", nil)
	if err != nil {
		return 0, syncRun{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, syncRun{}, err
	}
	defer resp.Body.Close()
	var r syncRun
	if resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return 0, r, err
		}
	}
	return resp.StatusCode, r, nil
}

func (p *portal) postStatus(ctx context.Context) (int, syncRun, error) {
	return p.do(ctx, http.MethodPost)
}

func (p *portal) post(ctx context.Context) (syncRun, error) {
	code, r, err := p.do(ctx, http.MethodPost)
	if err == nil && code != http.StatusAccepted {
		err = fmt.Errorf("POST users/sync: HTTP %d", code)
	}
	return r, err
}

func (p *portal) get(ctx context.Context) (syncRun, error) {
	code, r, err := p.do(ctx, http.MethodGet)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET users/sync: HTTP %d", code)
	}
	return r, err
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
