package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	taskmanagerv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
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

// TestServesTaskManager: the command serves the TaskManager service behind
// the cluster secret (a call without it is Unauthenticated; with it, a
// call naming no running part is FailedPrecondition), keeps parts' state
// under --state-dir, and a default state directory is removed at exit.
func TestServesTaskManager(t *testing.T) {
	_, jm := serveRegistry(t, "k")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--jobmanager", jm, "--rpc-addr", addr, "--id", "tm1", "--cluster-secret", "k"}, &errOut)
	}()
	call := func(secret string) error {
		opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		if secret != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(membership.SecretCredentials(secret)))
		}
		cc, err := grpc.NewClient(addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		_, err = taskmanagerv1.NewTaskManagerClient(cc).ResumeSources(cctx, &taskmanagerv1.PartRef{JobId: "j", Attempt: 1}, grpc.WaitForReady(true))
		return err
	}
	if err := call("k"); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("with the secret: %v", err)
	}
	if err := call(""); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without the secret: %v", err)
	}
	if err := call("guess"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("with a wrong secret: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	// The default state directory is gone.
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "eddy-taskmanager-*"))
	for _, m := range matches {
		if strings.Contains(errOut.String(), m) {
			t.Fatalf("state directory %s left behind", m)
		}
	}
	if !strings.Contains(errOut.String(), "state_dir=") {
		t.Fatalf("the state directory is not logged:\n%s", errOut.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
