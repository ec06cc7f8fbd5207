package pushleaderboard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	jmv1 "github.com/eddy-streaming/eddy/api/jobmanager/v1"
)

// chromium returns the browser's path. The test setup installs Debian's
// chromium package when it is missing (as root, or through sudo), so the
// suite runs on a fresh machine; if that fails the test fails, saying how
// to install it.
func chromium(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	installOnce.Do(func() { installErr = installChromium() })
	if p := find(); p != "" {
		return p
	}
	t.Fatalf("no chromium, and installing it failed: %v\ninstall Debian's chromium package: apt-get install -y chromium", installErr)
	return ""
}

var (
	installOnce sync.Once
	installErr  error
)

// installChromium runs apt-get install chromium, through sudo when not
// root.
func installChromium() error {
	var prefix []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return fmt.Errorf("not root and no sudo")
		}
		prefix = []string{"sudo", "-n"}
	}
	run := func(args ...string) error {
		args = append(prefix, args...)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, tail(string(out)))
		}
		return nil
	}
	if err := run("apt-get", "install", "-y", "-q", "chromium"); err == nil {
		return nil
	}
	if err := run("apt-get", "update", "-q"); err != nil {
		return err
	}
	return run("apt-get", "install", "-y", "-q", "chromium")
}

func tail(s string) string {
	if len(s) > 600 {
		return "..." + s[len(s)-600:]
	}
	return s
}

// TestPage opens the demo page for room 42 in headless Chromium, runs the
// job, and checks that the rendered leaderboard moves while the job runs
// and ends equal to the reference top 5 computed from the generator's
// rows.
func TestPage(t *testing.T) {
	path := chromium(t)
	c := startCluster(t)
	text := boundedSQL(12000, 3000)
	ref := roomReference(readGifts(t, text), 42)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	page := c.base + "/demo/leaderboard/?room=42&access_token=" + testToken
	var status string
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible("#board")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); status != "live"; time.Sleep(20 * time.Millisecond) {
		var err error
		if status, err = chromedp.Run(ctx, chromedp.Text("#status")); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not connect: status %q", status)
		}
	}

	// rendered returns the board's rows as text and the messages applied.
	rendered := func() ([][]string, int) {
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](
			`Array.from(document.querySelectorAll('#board tr')).map(tr => Array.from(tr.children).map(td => td.textContent))`))
		if err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.messages || "0"`))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := strconv.Atoi(n)
		return rows, m
	}
	id := c.submit(text)
	seen := map[string]bool{}
	finished := false
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rows, n := rendered()
		if len(rows) > 0 {
			seen[fmt.Sprint(rows)] = true
		}
		if !finished {
			j, err := c.svc.GetJob(context.Background(), &jmv1.GetJobRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			finished = j.GetState() == "FINISHED"
			if s := j.GetState(); s == "FAILED" || s == "CANCELED" {
				t.Fatalf("job %s: %s", s, j.GetMessage())
			}
		}
		if finished && n == len(rowsOf(c.rec.recorded(), "42")) {
			// Every message reached the page; one more frame renders it.
			time.Sleep(100 * time.Millisecond)
			rows, _ = rendered()
			board := map[int64]place{}
			for _, r := range rows {
				if len(r) != 4 {
					t.Fatalf("a board row %q", r)
				}
				var p place
				for i, dst := range []*int64{&p.Rn, &p.User, &p.Total, &p.Gifts} {
					v, err := strconv.ParseInt(strings.TrimSpace(r[i]), 10, 64)
					if err != nil {
						t.Fatalf("a board row %q: %v", r, err)
					}
					*dst = v
				}
				board[p.Rn] = p
			}
			checkBoard(t, board, ref)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page applied %d messages; the job wrote %d for room 42 (finished: %v)", n, len(rowsOf(c.rec.recorded(), "42")), finished)
		}
	}
	if len(seen) < 3 {
		t.Fatalf("the board took %d distinct states while the job ran; it should move", len(seen))
	}
	t.Logf("the board took %d distinct states", len(seen))
}
