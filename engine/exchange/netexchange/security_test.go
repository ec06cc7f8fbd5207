package netexchange

import (
	"context"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// secret is per-RPC credentials carrying a cluster secret.
type secret string

func (s secret) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"x-cluster-secret": string(s)}, nil
}
func (secret) RequireTransportSecurity() bool { return false }

// TestClusterSecret checks the security hooks: the caller's server
// interceptor refuses streams without the cluster secret, and a producer
// dialing with it (Config.DialOptions) gets through.
func TestClusterSecret(t *testing.T) {
	defer goleak.VerifyNone(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := testCtx(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	check := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		if v := md.Get("x-cluster-secret"); len(v) != 1 || v[0] != "s3cret" {
			return status.Error(codes.Unauthenticated, "wrong cluster secret")
		}
		return h(srv, ss)
	}
	gs := grpc.NewServer(append(ServerOptions(), grpc.StreamInterceptor(check))...)
	defer gs.Stop()
	srv := NewServer(ServerConfig{GateWait: time.Second})
	srv.Register(gs)
	go func() { _ = gs.Serve(lis) }()
	addr := lis.Addr().String()
	placement := func(exchange.ChannelID) string { return addr }
	consumer, err := New(srv, Config{Job: "sec", Attempt: 1, Self: addr, Placement: placement, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	good, bad := exchange.ChannelID{Edge: 0, From: 0, To: 0}, exchange.ChannelID{Edge: 0, From: 1, To: 0}
	g, err := consumer.Gate([]exchange.ChannelID{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 3))
	for _, tc := range []struct {
		id   exchange.ChannelID
		cred secret
	}{{good, "s3cret"}, {bad, "guess"}} {
		producer, err := New(NewServer(ServerConfig{}), Config{Job: "sec", Attempt: 1, Self: "producer:1", Placement: placement, Allocator: mem,
			DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(tc.cred)}})
		if err != nil {
			t.Fatal(err)
		}
		defer producer.Close()
		s, err := producer.Sender(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(ctx, stream.DataMessage(stream.Batch{Record: randomRecord(r, mem, 4, false)}))
		if tc.cred == "s3cret" && err != nil {
			t.Fatalf("with the secret: %v", err)
		}
		if tc.cred != "s3cret" && (err == nil || !strings.Contains(err.Error(), "Unauthenticated")) {
			t.Fatalf("without the secret: %v", err)
		}
	}
	ch, m, err := g.Next(ctx)
	if err != nil || ch != 0 || m.Kind != stream.Data {
		t.Fatalf("Next: %d %v %v", ch, m.Kind, err)
	}
	m.Batch.Release()
	g.Close()
}
