package membership

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	clusterv1 "github.com/eddy-streaming/eddy/api/cluster/v1"
)

// TestRegistryWithFakeClock drives registration, heartbeats, expiry and
// bad requests without a network, on a fake clock.
func TestRegistryWithFakeClock(t *testing.T) {
	now := time.Unix(1000, 0)
	r := New(Config{HeartbeatInterval: time.Second, HeartbeatTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }})
	ctx := context.Background()
	for _, bad := range []*clusterv1.RegisterTaskManagerRequest{
		{Address: "h:1", Slots: 1}, {Id: "a", Slots: 1}, {Id: "a", Address: "h:1"},
	} {
		if _, err := r.RegisterTaskManager(ctx, bad); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("%v: %v", bad, err)
		}
	}
	resp, err := r.RegisterTaskManager(ctx, &clusterv1.RegisterTaskManagerRequest{Id: "a", Address: "h:1", Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	if resp.HeartbeatIntervalMs != 1000 || resp.HeartbeatTimeoutMs != 5000 || resp.Registration == "" {
		t.Fatalf("response %v", resp)
	}
	hb := func(reg string) bool {
		out, err := r.Heartbeat(ctx, &clusterv1.HeartbeatRequest{Id: "a", Registration: reg})
		if err != nil {
			t.Fatal(err)
		}
		return out.Reregister
	}
	if !hb("other") {
		t.Fatal("a heartbeat with another registration was accepted")
	}
	now = now.Add(4 * time.Second)
	if hb(resp.Registration) {
		t.Fatal("a good heartbeat was refused")
	}
	now = now.Add(4 * time.Second) // 4 s after the last heartbeat
	r.Expire()
	if len(r.TaskManagers()) != 1 {
		t.Fatal("expired before the timeout")
	}
	now = now.Add(time.Second)
	r.Expire()
	if len(r.TaskManagers()) != 0 {
		t.Fatal("not expired at the timeout")
	}
	if !hb(resp.Registration) {
		t.Fatal("a lost task manager's heartbeat was accepted")
	}
}

func TestSecretInterceptor(t *testing.T) {
	ic := SecretInterceptor("k", MethodPrefix)
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	call := func(method string, md ...string) error {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(md...))
		_, err := ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, ok)
		return err
	}
	if err := call(MethodPrefix + "Heartbeat"); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "--cluster-secret") {
		t.Fatalf("no secret: %v", err)
	}
	if err := call(MethodPrefix+"Heartbeat", SecretMetadata, "x"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := call(MethodPrefix+"Heartbeat", SecretMetadata, "k"); err != nil {
		t.Fatalf("right secret: %v", err)
	}
	if err := call("/eddy.jobmanager.v1.JobManager/ListJobs"); err != nil {
		t.Fatalf("unguarded method: %v", err)
	}
	open := SecretInterceptor("", MethodPrefix)
	if _, err := open(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: MethodPrefix + "Heartbeat"}, ok); err != nil {
		t.Fatalf("no secret configured: %v", err)
	}
}
