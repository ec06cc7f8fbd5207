package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/eddy-streaming/eddy/engine/cluster/membership"
)

// build compiles the command into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "taskmanager")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveRegistry runs a job manager's membership service on loopback.
func serveRegistry(t *testing.T, secret string) (*membership.Registry, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := membership.New(membership.Config{HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := grpc.NewServer(grpc.UnaryInterceptor(membership.SecretInterceptor(secret, membership.MethodPrefix)))
	reg.Register(srv)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = srv.Serve(lis) }()
	go reg.Run(ctx)
	t.Cleanup(func() { cancel(); srv.Stop() })
	return reg, lis.Addr().String()
}

// TestTaskManagerProcesses runs real task manager processes: they register
// with their slots; one killed with SIGKILL is declared lost within
// seconds; one with the wrong cluster secret exits 1 saying why.
func TestTaskManagerProcesses(t *testing.T) {
	bin := build(t)
	reg, addr := serveRegistry(t, "k")
	events, unsub := reg.Subscribe()
	defer unsub()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	for _, slots := range []string{"2", "3"} {
		cmd := exec.Command(bin, "--jobmanager", addr, "--slots", slots, "--id", "tm"+slots, "--cluster-secret", "k")
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(reg.TaskManagers()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	tms := reg.TaskManagers()
	if len(tms) != 2 || tms[0].ID != "tm2" || tms[0].Slots != 2 || tms[1].ID != "tm3" || tms[1].Slots != 3 {
		t.Fatalf("registered: %+v", tms)
	}
	if err := procs[0].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for {
		select {
		case e := <-events:
			if e.Kind == membership.Lost && e.TM.ID == "tm2" {
				d := time.Since(killed)
				if d > 5*time.Second {
					t.Fatalf("a SIGKILLed task manager was declared lost after %s", d)
				}
				t.Logf("SIGKILLed task manager declared lost after %s", d.Round(time.Millisecond))
				if left := reg.TaskManagers(); len(left) != 1 || left[0].ID != "tm3" {
					t.Fatalf("left: %+v", left)
				}
				goto secret
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the SIGKILLed task manager was never declared lost")
		}
	}
secret:
	var errOut bytes.Buffer
	cmd := exec.Command(bin, "--jobmanager", addr, "--id", "intruder", "--cluster-secret", "guess")
	cmd.Stderr = &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errOut.String(), "cluster secret is missing or wrong") {
		t.Fatalf("wrong secret: %v\n%s", err, errOut.String())
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"--jobmanager", "h:1", "--slots", "0"}, {"--jobmanager", "h:1", "extra"}} {
		var errOut bytes.Buffer
		if code := run(context.Background(), args, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, %q", args, code, errOut.String())
		}
	}
	// Stopping (ctx cancelled) exits 0.
	_, addr := serveRegistry(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var errOut bytes.Buffer
	if code := run(ctx, []string{"--jobmanager", addr}, &errOut); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "no cluster secret") || !strings.Contains(errOut.String(), "registered with the job manager") {
		t.Fatalf("logs:\n%s", errOut.String())
	}
}
