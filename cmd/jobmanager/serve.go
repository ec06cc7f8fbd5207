package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	jmv1 "github.com/eddy-streaming/eddy/api/jobmanager/v1"
	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/cluster/jobmanager"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
	"github.com/eddy-streaming/eddy/examples/nexmark"
	pushleaderboard "github.com/eddy-streaming/eddy/examples/push-leaderboard"
	"github.com/eddy-streaming/eddy/planner"
	"github.com/eddy-streaming/eddy/sql/parse"
	"github.com/eddy-streaming/eddy/udf"
)

// sqlFile names submitted scripts in SQL error messages ("job.sql:3:8: ...").
const sqlFile = "job.sql"

// sqlCompiler is the job manager's Compiler: the planner, through
// package embedded, with the built-in connectors and the shipped UDFs.
type sqlCompiler struct {
	reg   *connectors.Registry
	funcs *udf.Registry
}

// sqlError turns a positioned parse or planning error into a
// *jobmanager.SQLError.
func sqlError(err error) error {
	var perr *parse.Error
	if errors.As(err, &perr) {
		return &jobmanager.SQLError{Line: perr.Pos.Line, Column: perr.Pos.Col, Message: perr.Error()}
	}
	return err
}

func (c sqlCompiler) compile(ctx context.Context, req jobmanager.CompileRequest) (*planner.Plan, error) {
	plan, err := embedded.Compile(ctx, sqlFile, req.SQL, embedded.Options{
		JobName: req.Name, Parallelism: req.Parallelism, Connectors: c.reg, Functions: c.funcs,
	})
	if err != nil {
		return nil, sqlError(err)
	}
	return plan, nil
}

// Compile implements jobmanager.Compiler.
func (c sqlCompiler) Compile(ctx context.Context, req jobmanager.CompileRequest) (*jobmanager.Compiled, error) {
	p, err := c.compile(ctx, req)
	if err != nil {
		return nil, err
	}
	n := 0
	if s, err := parse.Parse(sqlFile, req.SQL); err == nil {
		n = len(s.Stmts)
	}
	return &jobmanager.Compiled{Graph: p.Graph, Statements: n}, nil
}

// Explain implements jobmanager.Compiler: the text `jobmanager explain`
// prints.
func (c sqlCompiler) Explain(ctx context.Context, req jobmanager.CompileRequest) (string, error) {
	p, err := c.compile(ctx, req)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, text := range p.Explains {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(text)
	}
	if p.Graph != nil {
		if len(p.Explains) > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Explain())
	}
	return b.String(), nil
}

// submitFile submits a script file as a job named after the file.
func submitFile(ctx context.Context, svc *jobmanager.Service, file string, parallelism int) (string, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	resp, err := svc.SubmitJob(ctx, &jmv1.SubmitJobRequest{Sql: string(text), Name: filepath.Base(file), Parallelism: int32(parallelism)})
	if err != nil {
		return "", err
	}
	return resp.Id, nil
}

// serveFlags are serve's flags.
type serveFlags struct {
	restAddr, rpcAddr, dir string
	localTMs, slots        int
	token, clusterSecret   string
	tlsCert, tlsKey, tlsCA string
	submit                 string
	submitParallelism      int
}

// serve runs the job manager until ctx ends or SIGINT/SIGTERM arrives on
// sigs; running jobs are then interrupted but stay recorded as running, so
// a job manager started on the same --checkpoint-dir resumes them.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	fs := flag.NewFlagSet("jobmanager serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.restAddr, "rest-addr", "127.0.0.1:8081", "REST listen address (HOST:PORT)")
	fs.StringVar(&f.rpcAddr, "rpc-addr", "127.0.0.1:6123", "gRPC listen address (HOST:PORT)")
	fs.StringVar(&f.dir, "checkpoint-dir", "", "directory of the job records and the jobs' checkpoints (required)")
	fs.IntVar(&f.localTMs, "local-taskmanagers", 1, "task managers to run inside this process; 0: jobs run on task managers that join over the network (taskmanager --jobmanager this --rpc-addr)")
	fs.IntVar(&f.slots, "slots", 4, "slots of each local task manager")
	fs.StringVar(&f.token, "token", os.Getenv("EDDY_TOKEN"), "bearer token the APIs require (default $EDDY_TOKEN)")
	fs.StringVar(&f.clusterSecret, "cluster-secret", os.Getenv("EDDY_CLUSTER_SECRET"), "secret task managers must present to join")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM) for gRPC and REST")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS key (PEM) for gRPC and REST")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA bundle (PEM) verifying remote task managers, which a job manager serving TLS dials over TLS (default roots: the system's)")
	fs.StringVar(&f.submit, "submit", "", "submit this SQL script as a job once serving (e.g. examples/live-room/top_gifts.sql)")
	fs.IntVar(&f.submitParallelism, "submit-parallelism", 1, "parallelism of the --submit job")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() != 0:
		fmt.Fprintf(stderr, "jobmanager serve: unexpected arguments %q\n%s", fs.Args(), usage)
		return 2
	case f.dir == "":
		fmt.Fprintf(stderr, "jobmanager serve: --checkpoint-dir is required (job records and checkpoints go there)\n")
		return 2
	case f.localTMs < 0:
		fmt.Fprintf(stderr, "jobmanager serve: --local-taskmanagers must be 0 (remote task managers) or more, got %d\n", f.localTMs)
		return 2
	case f.slots < 1:
		fmt.Fprintf(stderr, "jobmanager serve: --slots must be at least 1, got %d\n", f.slots)
		return 2
	case (f.tlsCert == "") != (f.tlsKey == ""):
		fmt.Fprintf(stderr, "jobmanager serve: --tls-cert and --tls-key go together\n")
		return 2
	case f.tlsCA != "" && f.tlsCert == "":
		fmt.Fprintf(stderr, "jobmanager serve: --tls-ca verifies task managers dialed over TLS, which happens only when the job manager serves TLS itself (--tls-cert and --tls-key)\n")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if f.clusterSecret == "" {
		logger.Warn("no cluster secret is set (--cluster-secret): task managers would join without one")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reg := prometheus.NewRegistry()
	conns, funcs := builtin.Registry(), nexmark.Functions()
	// Push tables publish into this job manager's hub, which serves them
	// at /v1/streams/{table} (remote task managers publish over gRPC).
	hub := push.NewHub()
	if err := conns.Register(push.New(hub)); err != nil {
		fmt.Fprintf(stderr, "jobmanager serve: %v\n", err)
		return 1
	}
	members := membership.New(membership.Config{Logger: logger})
	mctx, stopMembers := context.WithCancel(ctx)
	defer stopMembers()
	go members.Run(mctx)
	var runner jobmanager.Runner
	var remote *jobmanager.RemoteRunner
	listed := members // remote task managers the service lists next to the runner's
	if f.localTMs == 0 {
		creds, err := taskManagerCreds(f)
		if err != nil {
			fmt.Fprintf(stderr, "jobmanager serve: %v\n", err)
			return 2
		}
		dial := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
		if f.clusterSecret != "" {
			dial = append(dial, grpc.WithPerRPCCredentials(membership.SecretCredentials(f.clusterSecret)))
		}
		remote, err = jobmanager.NewRemoteRunner(jobmanager.RemoteConfig{
			Members: members, Connectors: conns, Functions: funcs, DialOptions: dial, Logger: logger,
		})
		if err != nil {
			fmt.Fprintf(stderr, "jobmanager serve: %v\n", err)
			return 2
		}
		defer remote.Close()
		runner, listed = remote, nil
	} else {
		local, err := jobmanager.NewLocalRunner(jobmanager.LocalConfig{
			TaskManagers: f.localTMs, Slots: f.slots, Connectors: conns, Functions: funcs,
			Registerer: reg, Logger: logger,
		})
		if err != nil {
			fmt.Fprintf(stderr, "jobmanager serve: %v\n", err)
			return 2
		}
		runner = local
	}
	svc, err := jobmanager.NewService(ctx, jobmanager.ServiceConfig{
		Dir: f.dir, Compiler: sqlCompiler{reg: conns, funcs: funcs}, Runner: runner, Members: listed, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "jobmanager serve: %v\n", err)
		return 1
	}
	srv, err := jobmanager.Start(ctx, svc, jobmanager.ServerConfig{
		RESTAddr: f.restAddr, RPCAddr: f.rpcAddr, Token: f.token, TLSCert: f.tlsCert, TLSKey: f.tlsKey,
		Members: members, ClusterSecret: f.clusterSecret, Remote: remote, Gatherer: reg, Logger: logger,
		Push: hub, Handlers: map[string]http.Handler{pushleaderboard.Route: pushleaderboard.Handler()},
	})
	if err != nil {
		svc.Close()
		fmt.Fprintf(stderr, "jobmanager serve: %v\n", err)
		return 1
	}
	if remote != nil {
		remote.SetJobManagerAddress(srv.RPCAddr())
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "jobmanager: REST on %s://%s, gRPC on %s\n", scheme, srv.RESTAddr(), srv.RPCAddr())
	if f.submit != "" {
		if id, err := submitFile(ctx, svc, f.submit, f.submitParallelism); err != nil {
			logger.Error("--submit failed", "file", f.submit, "err", err)
		} else {
			fmt.Fprintf(stdout, "jobmanager: submitted %s as job %s (GET %s://%s/v1/jobs/%s)\n", f.submit, id, scheme, srv.RESTAddr(), id)
		}
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case sig := <-sigs:
			if sig == os.Interrupt || sig == syscall.SIGTERM {
				logger.Info("shutting down; running jobs resume when a job manager starts on the same directory", "signal", sig.String())
				done = true
			}
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutting down the servers", "err", err)
	}
	svc.Close()
	return 0
}

// taskManagerCreds are the transport credentials the RemoteRunner dials
// task managers with: plaintext unless the job manager serves TLS; then
// TLS, verifying the task managers' certificates (host name or IP address
// as registered) against --tls-ca, or the system roots without it. Task
// managers of a job manager serving TLS must serve TLS too (taskmanager
// --tls-cert --tls-key).
func taskManagerCreds(f serveFlags) (credentials.TransportCredentials, error) {
	if f.tlsCert == "" {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.tlsCA != "" {
		b, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--tls-ca: %s: no PEM certificate in it", f.tlsCA)
		}
		cfg.RootCAs = pool
	}
	return credentials.NewTLS(cfg), nil
}
