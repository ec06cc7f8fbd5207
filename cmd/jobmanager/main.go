package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/examples/nexmark"
	"github.com/eddy-streaming/eddy/sql/parse"
)

const usage = `usage:
  jobmanager run [--parallelism N] [CHECKPOINT FLAGS] JOB.sql
                      run the script's job in an embedded mini-cluster
                      (EXPLAIN statements print their plans first)
  jobmanager explain [--parallelism N] JOB.sql
                      print the logical plan and the physical DAG
  jobmanager serve --checkpoint-dir DIR [--rest-addr HOST:PORT] [--rpc-addr HOST:PORT]
                   [--local-taskmanagers N] [--slots N] [--token T] [--cluster-secret S]
                   [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--submit JOB.sql [--submit-parallelism N]]
                      run the job manager: REST API (docs/rest.md) and gRPC service;
                      jobs run on N local task managers of --slots slots each
                      (defaults: REST 127.0.0.1:8081, gRPC 127.0.0.1:6123, 1 task
                      manager, 4 slots; token default $EDDY_TOKEN). Job records and
                      checkpoints live in DIR; a restart on DIR resumes running jobs.
                      --submit submits a script as a job once serving.

checkpoint flags (run):
  --checkpoint-dir DIR          keep checkpoints in DIR (keyed state in Pebble); a failed
                                job restarts in process from its latest checkpoint
  --checkpoint-interval D       take a checkpoint every D (Go duration: 500ms, 2s, 1m);
                                overrides the job option 'execution.checkpointing.interval'
  --from-checkpoint REF         resume from the latest complete checkpoint under directory
                                REF (may be DIR), or from one checkpoint's directory or
                                _metadata file; needs --checkpoint-dir
  --allow-non-restored-state    drop checkpointed state of operators the job no longer has
  --savepoint-on-stop=BOOL      with --checkpoint-dir, SIGTERM or SIGINT stops the job with a
                                savepoint (DIR/savepoint-<id>, printed; a second signal
                                aborts) and exits 0 (default true); false: just cancel.
                                SIGUSR1 takes a savepoint of the running job.
`

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGUSR1)
	code := runSignals(context.Background(), os.Args[1:], os.Stdout, os.Stderr, sigs)
	signal.Stop(sigs)
	os.Exit(code)
}

// run is the whole command without signal handling (cancel ctx to cancel
// the job); it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runSignals(ctx, args, stdout, stderr, nil)
}

// runSignals is the whole command; it returns the exit code. sigs
// delivers SIGINT, SIGTERM (stop: with a savepoint when the job has a
// checkpoint directory, else cancel; a second one cancels) and SIGUSR1 (a
// savepoint of the running job).
func runSignals(ctx context.Context, args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run", "explain":
	case "serve":
		return serve(ctx, rest, stdout, stderr, sigs)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "jobmanager: unknown command %q\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("jobmanager "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	parallelism := fs.Int("parallelism", 1, "parallelism of every operator")
	var ck ckptFlags
	if cmd == "run" {
		fs.StringVar(&ck.dir, "checkpoint-dir", "", "directory of the job's checkpoints")
		fs.DurationVar(&ck.interval, "checkpoint-interval", 0, "interval between checkpoints (Go duration)")
		fs.StringVar(&ck.from, "from-checkpoint", "", "checkpoint directory or path to resume from")
		fs.BoolVar(&ck.allowNonRestored, "allow-non-restored-state", false, "drop state of operators the job no longer has")
		fs.BoolVar(&ck.savepointOnStop, "savepoint-on-stop", true, "on SIGTERM or SIGINT, stop with a savepoint (needs --checkpoint-dir)")
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if err := ck.check(); err != nil {
		fmt.Fprintf(stderr, "jobmanager %s: %v\n", cmd, err)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "jobmanager %s: want exactly one JOB.sql argument\n%s", cmd, usage)
		return 2
	}
	if *parallelism < 1 {
		fmt.Fprintf(stderr, "jobmanager %s: --parallelism must be at least 1, got %d\n", cmd, *parallelism)
		return 2
	}
	file := fs.Arg(0)
	text, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "jobmanager: %v\n", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ctl *runtime.Control
	if cmd == "run" && ck.dir != "" {
		ctl = runtime.NewControl()
	}
	stopSignals := handleSignals(ctx, sigs, cancel, ctl, ck.savepointOnStop, logger, stderr)
	defer stopSignals()
	// The jobmanager ships the Nexmark benchmark's count_char UDF, as Flink's
	// nexmark jar does, so examples/nexmark/q14.sql runs as it stands.
	// Push tables plan (explain) but cannot run here: only `serve` has the
	// hub that serves them.
	conns := builtin.Registry()
	_ = conns.Register(push.New(nil)) // a fresh registry has no "push"
	opts := embedded.Options{Parallelism: *parallelism, Logger: logger, Connectors: conns, Functions: nexmark.Functions()}
	plan, err := embedded.Compile(ctx, file, string(text), opts)
	if err != nil {
		var perr *parse.Error
		if errors.As(err, &perr) {
			fmt.Fprintln(stderr, perr.Error())
		} else {
			fmt.Fprintf(stderr, "jobmanager: %v\n", err)
		}
		return 1
	}
	// The script's EXPLAIN statements print their plans (and do not run).
	for i, text := range plan.Explains {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprint(stdout, text)
	}
	if cmd == "explain" {
		if plan.Graph != nil {
			if len(plan.Explains) > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprint(stdout, plan.Explain())
		}
		return 0
	}
	if plan.Graph == nil {
		return 0 // only EXPLAIN statements: nothing to run
	}
	cleanup, err := ck.setup(ctx, &opts, logger)
	if err != nil {
		fmt.Fprintf(stderr, "jobmanager: %v\n", err)
		return 1
	}
	opts.Control = ctl
	res, err := embedded.RunPlan(ctx, plan, opts.Connectors, opts)
	if cerr := cleanup(); cerr != nil {
		logger.Warn("cleaning up keyed state", "err", cerr)
	}
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted (Ctrl-C or SIGTERM): the job was cancelled cleanly.
			fmt.Fprintf(stderr, "jobmanager: job %s cancelled\n", file)
			return 130
		}
		fmt.Fprintf(stderr, "jobmanager: job %s failed: %v\n", file, err)
		return 1
	}
	if res.SavepointPath != "" {
		fmt.Fprintf(stderr, "jobmanager: job %s stopped with savepoint %s\n", file, res.SavepointPath)
	}
	if res.LateRecordsDropped > 0 {
		fmt.Fprintf(stderr, "jobmanager: %d late records were dropped (older than the watermark when they reached their window)\n", res.LateRecordsDropped)
	}
	return 0
}
