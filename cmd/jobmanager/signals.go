package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/eddy-streaming/eddy/engine/runtime"
)

// handleSignals acts on sigs until the returned function is called (it
// waits for the handler to end): the first SIGINT or SIGTERM stops the job
// with a savepoint when ctl is set and savepointOnStop, else cancels it; a
// failed stop, or a second SIGINT or SIGTERM, cancels it. SIGUSR1 takes a
// savepoint of the running job and logs its path. A nil sigs handles
// nothing.
func handleSignals(ctx context.Context, sigs <-chan os.Signal, cancel context.CancelFunc, ctl *runtime.Control,
	savepointOnStop bool, logger *slog.Logger, stderr io.Writer) (stop func()) {
	if sigs == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		stopping := false
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case sig := <-sigs:
				switch {
				case sig == syscall.SIGUSR1:
					if ctl == nil {
						logger.Warn("SIGUSR1: no savepoint taken: the job has no --checkpoint-dir")
						continue
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						path, err := ctl.TriggerSavepoint(ctx)
						if err != nil {
							logger.Error("SIGUSR1: savepoint failed", "err", err)
							return
						}
						logger.Info("SIGUSR1: savepoint taken", "path", path)
						fmt.Fprintf(stderr, "jobmanager: savepoint %s\n", path)
					}()
				case stopping || ctl == nil || !savepointOnStop:
					logger.Info("signal: cancelling the job", "signal", sig.String())
					cancel()
					return
				default:
					stopping = true
					logger.Info("signal: stopping the job with a savepoint (signal again to abort)", "signal", sig.String())
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := ctl.StopWithSavepoint(ctx); err != nil && ctx.Err() == nil {
							logger.Error("stop with a savepoint failed; cancelling the job", "err", err)
							cancel()
						}
					}()
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			cancel()
			wg.Wait()
		})
	}
}
