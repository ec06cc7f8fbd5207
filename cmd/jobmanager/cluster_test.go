package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeWithTaskManagerProcesses runs `jobmanager serve` with a cluster
// secret and real `taskmanager` processes: the two with the secret are
// listed by GET /v1/taskmanagers with their slots (next to the local
// one), one with a wrong secret is refused and exits 1, and one killed with
// SIGKILL leaves the list within seconds.
func TestServeWithTaskManagerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	dir := t.TempDir()
	jmBin, tmBin := filepath.Join(dir, "jobmanager"), filepath.Join(dir, "taskmanager")
	for bin, pkg := range map[string]string{jmBin: ".", tmBin: "../taskmanager"} {
		if b, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	serve := exec.CommandContext(ctx, jmBin, "serve", "--checkpoint-dir", filepath.Join(dir, "ck"), "--rest-addr", "127.0.0.1:0",
		"--rpc-addr", "127.0.0.1:0", "--cluster-secret", "s3cret")
	serve.Env = append(os.Environ(), "EDDY_TOKEN=tok")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var serveErr syncBuffer
	serve.Stderr = &serveErr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = serve.Process.Signal(os.Interrupt)
		_ = serve.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no address line: %v\n%s", err, serveErr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	m := regexp.MustCompile(`REST on (http://\S+), gRPC on (\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("address line %q", line)
	}
	j := &jm{t: t, base: m[1], token: "tok"}
	var tms []*exec.Cmd
	defer func() {
		for _, p := range tms {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	for _, slots := range []string{"2", "3"} {
		p := exec.Command(tmBin, "--jobmanager", m[2], "--slots", slots, "--id", "tm"+slots, "--cluster-secret", "s3cret")
		p.Stderr = io.Discard
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		tms = append(tms, p)
	}
	type tm struct {
		ID        string `json:"id"`
		Slots     int    `json:"slots"`
		FreeSlots int    `json:"free_slots"`
		Local     bool   `json:"local"`
	}
	list := func() []tm {
		code, b := j.call("GET", "/v1/taskmanagers", "")
		if code != 200 {
			t.Fatalf("GET /v1/taskmanagers: %d %s", code, b)
		}
		var out struct {
			Taskmanagers []tm `json:"taskmanagers"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out.Taskmanagers
	}
	remote := func() []string {
		var ids []string
		for _, x := range list() {
			if !x.Local {
				ids = append(ids, x.ID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(remote()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := list()
	want := map[string]tm{"tm2": {"tm2", 2, 2, false}, "tm3": {"tm3", 3, 3, false}}
	locals := 0
	for _, x := range got {
		if x.Local {
			locals++
			continue
		}
		if want[x.ID] != x {
			t.Fatalf("task manager %+v, want %+v (list %+v)", x, want[x.ID], got)
		}
		delete(want, x.ID)
	}
	if len(want) != 0 || locals != 1 {
		t.Fatalf("listed %+v", got)
	}

	// A wrong secret is refused.
	var errOut bytes.Buffer
	bad := exec.Command(tmBin, "--jobmanager", m[2], "--id", "intruder", "--cluster-secret", "guess")
	bad.Stderr = &errOut
	if err := bad.Run(); err == nil || !strings.Contains(errOut.String(), "cluster secret") {
		t.Fatalf("a task manager with a wrong secret: %v\n%s", err, errOut.String())
	}

	// A SIGKILLed task manager leaves the list within seconds.
	if err := tms[0].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for slices.Contains(remote(), "tm2") {
		if time.Since(killed) > 15*time.Second {
			t.Fatalf("the SIGKILLed task manager is still listed after %s", time.Since(killed))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("SIGKILLed task manager dropped from the list after %s", time.Since(killed).Round(time.Millisecond))
	if r := remote(); len(r) != 1 || r[0] != "tm3" {
		t.Fatalf("remote task managers left: %v", r)
	}
	if !strings.Contains(serveErr.String(), "task manager lost") {
		t.Errorf("the job manager did not log the loss:\n%s", serveErr.String())
	}
}
