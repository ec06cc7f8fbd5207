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
	goruntime "runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/embedded"
	nexmark "github.com/eddy-streaming/eddy/examples/nexmark"
	"github.com/eddy-streaming/eddy/sql/parse"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// result is one query's measurement.
type result struct {
	query              string
	events, in, out    int64
	wall, cpu          time.Duration
	peakHeap           uint64
	err                error
	lateRecordsDropped int64
}

// run is the whole command; it returns the exit code: 0 when every query
// ran, 1 when one failed, 2 on bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nexmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int64("events", 10_000_000, "events of all kinds per query ('events.num')")
	parallelism := fs.Int("parallelism", 1, "parallelism of every operator, sources included")
	queries := fs.String("queries", strings.Join(nexmark.Queries, ","), "comma-separated queries to run")
	rate := fs.Int64("rate", 10_000_000, "events per second of event time ('first-event.rate'; Flink's V1 benchmark uses 10,000,000)")
	seed := fs.Int64("seed", 0, "generator seed")
	batch := fs.Int("batch-size", 0, "rows per source batch (0: the runtime's default)")
	explain := fs.Bool("explain", false, "print each query's plan instead of running it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "nexmark: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *events < 1 || *parallelism < 1 || *rate < 1 || *batch < 0 {
		fmt.Fprintln(stderr, "nexmark: --events, --parallelism and --rate must be at least 1, --batch-size at least 0")
		return 2
	}
	var list []string
	for _, q := range strings.Split(*queries, ",") {
		q = strings.ToLower(strings.TrimSpace(q))
		if q == "" {
			continue
		}
		if _, err := nexmark.File(q + ".sql"); err != nil {
			fmt.Fprintf(stderr, "nexmark: unknown query %q (known: %s)\n", q, strings.Join(nexmark.Queries, ", "))
			return 2
		}
		list = append(list, q)
	}
	p := nexmark.Params{Events: *events, Rate: *rate, Seed: *seed}
	if !*explain {
		// q10 writes its files and q13 reads its side input in a
		// directory of the run's own, removed at the end.
		dir, err := os.MkdirTemp("", "nexmark-")
		if err != nil {
			fmt.Fprintf(stderr, "nexmark: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := nexmark.WriteSideInput(dir); err != nil {
			fmt.Fprintf(stderr, "nexmark: %v\n", err)
			return 1
		}
		p.Dir = dir
	}
	opts := embedded.Options{
		Parallelism: *parallelism,
		Functions:   nexmark.Functions(),
		Logger:      slog.New(slog.DiscardHandler),
		BatchSize:   *batch,
	}
	if *explain {
		failed := false
		for _, q := range list {
			script, err := nexmark.Script(q, p)
			if err == nil {
				var plan interface{ Explain() string }
				plan, err = embedded.Compile(ctx, q+".sql", script, opts)
				if err == nil {
					fmt.Fprintf(stdout, "== %s\n%s\n", q, plan.Explain())
					continue
				}
			}
			failed = true
			fmt.Fprintf(stdout, "== %s\nerror: %s\n\n", q, errText(err))
		}
		if failed {
			return 1
		}
		return 0
	}

	fmt.Fprintf(stdout, "Nexmark: %d events per query, parallelism %d, first-event.rate %d, %d CPUs (GOMAXPROCS %d)\n\n",
		*events, *parallelism, *rate, goruntime.NumCPU(), goruntime.GOMAXPROCS(0))
	const row = "%-6s %12s %12s %12s %10s %10s %13s %10s %10s\n"
	fmt.Fprintf(stdout, row, "query", "events", "rows in", "rows out", "wall", "CPU", "events/CPU-s", "events/s", "peak heap")
	var results []result
	for _, q := range list {
		if ctx.Err() != nil {
			break
		}
		r := runQuery(ctx, q, p, opts)
		results = append(results, r)
		if r.err != nil {
			fmt.Fprintf(stdout, row, q, fmt.Sprint(r.events), "-", "-", "-", "-", "failed", "-", "-")
			continue
		}
		fmt.Fprintf(stdout, row, q, fmt.Sprint(r.events), fmt.Sprint(r.in), fmt.Sprint(r.out),
			r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond),
			rate2(float64(r.events)/r.cpu.Seconds()), rate2(float64(r.events)/r.wall.Seconds()), bytes2(r.peakHeap))
	}
	code, sep := 0, "\n"
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(stdout, "%s%s failed: %s\n", sep, r.query, errText(r.err))
			code, sep = 1, ""
		} else if r.lateRecordsDropped > 0 {
			fmt.Fprintf(stdout, "%s%s: %d late records dropped\n", sep, r.query, r.lateRecordsDropped)
			sep = ""
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "nexmark: interrupted")
		return 130
	}
	return code
}

// runQuery compiles and runs one query, measuring its wall and CPU time
// (compilation included: it takes milliseconds).
func runQuery(ctx context.Context, q string, p nexmark.Params, opts embedded.Options) result {
	r := result{query: q, events: p.Events}
	script, err := nexmark.Script(q, p)
	if err != nil {
		r.err = err
		return r
	}
	opts.JobName = q
	opts.Connectors = builtin.Registry()
	goruntime.GC()
	stopHeap := watchHeap()
	cpu0, wall0 := cpuTime(), time.Now()
	_, res, err := embedded.Run(ctx, q+".sql", script, opts)
	r.wall, r.cpu = time.Since(wall0), cpuTime()-cpu0
	r.peakHeap = stopHeap()
	if err != nil {
		r.err = err
		return r
	}
	r.in, r.out, r.lateRecordsDropped = res.RecordsIn, res.RecordsOut, res.LateRecordsDropped
	return r
}

// errText is an error's message; SQL errors already read FILE:LINE:COL.
func errText(err error) string {
	var perr *parse.Error
	if errors.As(err, &perr) {
		return perr.Error()
	}
	return err.Error()
}

// rate2 renders a rate with a unit: 1.23M, 456.7K.
func rate2(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fK", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// heapMetric is the runtime metric of the bytes held by heap objects, live
// or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

// watchHeap samples the heap every 10 ms until the returned function is
// called, which returns the largest sample: the query's peak heap, its
// state included (garbage not yet collected counts too, so it is an upper
// bound of the live heap).
func watchHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: heapMetric}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	var (
		wg   sync.WaitGroup
		peak = read()
		done = make(chan struct{})
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				peak = max(peak, read())
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak, read())
	}
}

// bytes2 renders a byte count with a binary unit: 12.3MiB.
func bytes2(v uint64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2fGiB", float64(v)/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(v)/(1<<20))
	}
	return fmt.Sprintf("%.0fKiB", float64(v)/(1<<10))
}

// cpuTime returns the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
