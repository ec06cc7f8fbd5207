package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	taskmanagerv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
	"github.com/eddy-streaming/eddy/engine/cluster/taskmanager"
	"github.com/eddy-streaming/eddy/engine/exchange/netexchange"
	"github.com/eddy-streaming/eddy/examples/nexmark"
)

// guarded are the methods of the task manager's gRPC server that need the
// cluster secret.
var guarded = []string{"/eddy.taskmanager.v1.TaskManager/", "/eddy.exchange.v1.ExchangeService/"}

const usage = `usage:
  taskmanager --jobmanager HOST:PORT [--slots N] [--rpc-addr HOST:PORT] [--id ID] [--cluster-secret S]
              [--state-dir DIR] [--tls-cert F --tls-key F] [--tls-ca F]
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit code. Cancel ctx to stop.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("taskmanager", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	jm := fs.String("jobmanager", "", "the job manager's gRPC address, HOST:PORT")
	slots := fs.Int("slots", 1, "slots offered: a job at parallelism P needs P slots")
	addr := fs.String("rpc-addr", "127.0.0.1:0", "where this task manager serves its gRPC services")
	id := fs.String("id", "", "the task manager's id (default: its host name and port)")
	secret := fs.String("cluster-secret", os.Getenv("EDDY_CLUSTER_SECRET"), "the cluster secret (default $EDDY_CLUSTER_SECRET)")
	stateDir := fs.String("state-dir", "", "where parts keep their keyed state (default: a temporary directory, removed at exit)")
	var tf tlsFlags
	fs.StringVar(&tf.cert, "tls-cert", "", "TLS certificate (PEM) this task manager serves its gRPC services (parts, exchange) with; with it, connections to the job manager and peers use TLS too")
	fs.StringVar(&tf.key, "tls-key", "", "TLS key (PEM) of --tls-cert")
	fs.StringVar(&tf.ca, "tls-ca", "", "CA bundle (PEM) verifying the job manager and peer task managers; with it (or --tls-cert) connections use TLS (default roots: the system's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case *jm == "":
		fmt.Fprintln(stderr, "taskmanager: --jobmanager HOST:PORT is required")
		return 2
	case *slots < 1:
		fmt.Fprintf(stderr, "taskmanager: --slots %d: offer at least one slot\n", *slots)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "taskmanager: unexpected arguments %v\n", fs.Args())
		return 2
	case tf.check() != nil:
		fmt.Fprintf(stderr, "taskmanager: %v\n", tf.check())
		return 2
	}
	clientCreds, err := tf.clientCreds()
	if err != nil {
		fmt.Fprintf(stderr, "taskmanager: %v\n", err)
		return 2
	}
	serverOpts := netexchange.ServerOptions()
	if tf.serving() {
		creds, err := tf.serverCreds()
		if err != nil {
			fmt.Fprintf(stderr, "taskmanager: %v\n", err)
			return 2
		}
		serverOpts = append(serverOpts, grpc.Creds(creds))
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if *secret == "" {
		logger.Warn("no cluster secret (--cluster-secret or EDDY_CLUSTER_SECRET): joining a job manager that admits any task manager")
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "taskmanager: --rpc-addr: %v\n", err)
		return 1
	}
	if *id == "" {
		host, _ := os.Hostname()
		*id = fmt.Sprintf("%s:%d", host, lis.Addr().(*net.TCPAddr).Port)
	}
	if *stateDir == "" {
		dir, err := os.MkdirTemp("", "eddy-taskmanager-")
		if err != nil {
			fmt.Fprintf(stderr, "taskmanager: state directory: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		*stateDir = dir
	} else if err := os.MkdirAll(*stateDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "taskmanager: --state-dir: %v\n", err)
		return 1
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(clientCreds)}
	if *secret != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(membership.SecretCredentials(*secret)))
	}
	srv := grpc.NewServer(append(serverOpts,
		grpc.ChainUnaryInterceptor(membership.SecretInterceptor(*secret, guarded...)),
		grpc.ChainStreamInterceptor(membership.SecretStreamInterceptor(*secret, guarded...)))...)
	exch := netexchange.NewServer(netexchange.ServerConfig{})
	exch.Register(srv)
	conn, err := grpc.NewClient(*jm, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "taskmanager: --jobmanager %s: %v\n", *jm, err)
		return 1
	}
	defer conn.Close()
	// Push tables' writers publish to the job manager's hub.
	conns := builtin.Registry()
	if err := conns.Register(push.New(push.NewClient(conn))); err != nil {
		fmt.Fprintf(stderr, "taskmanager: %v\n", err)
		return 1
	}
	// The task manager ships the Nexmark benchmark's count_char UDF, as
	// the job manager does.
	parts, err := taskmanager.NewParts(taskmanager.PartsConfig{
		ID: *id, Address: lis.Addr().String(), Exchange: exch, Connectors: conns, Functions: nexmark.Functions(),
		StateDir: *stateDir, DialOptions: opts, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "taskmanager: %v\n", err)
		return 1
	}
	taskmanagerv1.RegisterTaskManagerServer(srv, parts)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	defer srv.Stop()
	defer func() {
		if err := parts.Close(); err != nil {
			logger.Warn("stopping the parts", "err", err)
		}
	}()
	logger.Info("task manager started", "id", *id, "rpc", lis.Addr().String(), "slots", *slots, "jobmanager", *jm, "state_dir", *stateDir,
		"tls_serving", tf.serving(), "tls_dialing", tf.dialing())
	joinCtx, stopJoin := context.WithCancelCause(ctx)
	defer stopJoin(nil)
	var jmConn grpc.ClientConnInterface = conn
	if !tf.dialing() {
		// A plaintext task manager cannot talk to a job manager serving
		// TLS; say so instead of retrying forever.
		jmConn = &plainConn{ClientConn: conn, addr: *jm, mismatch: stopJoin}
	}
	joined := make(chan error, 1)
	go func() {
		joined <- taskmanager.Join(joinCtx, jmConn, taskmanager.Config{ID: *id, Address: lis.Addr().String(), Slots: *slots, Logger: logger,
			Lost: func(why error) {
				if running := parts.Running(); len(running) > 0 {
					logger.Warn("job manager lost: cancelling its job attempts before registering again", "attempts", running, "why", why)
					parts.CancelAll(fmt.Sprintf("the job manager was lost: %v", why))
				}
			}})
	}()
	select {
	case err := <-joined:
		if err != nil {
			fmt.Fprintf(stderr, "taskmanager: %v\n", err)
			return 1
		}
		if cause := context.Cause(joinCtx); errors.Is(cause, errJobManagerTLS) {
			fmt.Fprintf(stderr, "taskmanager: --jobmanager %s: %v\n", *jm, cause)
			return 1
		}
	case err := <-served:
		fmt.Fprintf(stderr, "taskmanager: serving: %v\n", err)
		return 1
	}
	logger.Info("task manager stopped", "id", *id)
	return 0
}
