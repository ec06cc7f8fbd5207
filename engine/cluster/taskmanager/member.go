package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clusterv1 "github.com/eddy-streaming/eddy/api/cluster/v1"
)

// Config configures Join.
type Config struct {
	// ID names the task manager (stable across reconnections).
	ID string
	// Address is where the task manager's own gRPC services listen, as the
	// job manager and other task managers reach them.
	Address string
	// Slots is the number of slots offered.
	Slots int
	// Version is the build's version, for diagnostics.
	Version string
	// Logger receives registrations and connection trouble (default
	// slog.Default()).
	Logger *slog.Logger
	// MaxBackoff caps the wait between two failed registrations (default
	// 5 s).
	MaxBackoff time.Duration
	// Registered, when set, is called after each successful registration.
	Registered func(registration string)
	// Lost, when set, is called when the job manager is lost (it stopped
	// answering heartbeats for their timeout, or asked for a new
	// registration, as after a restart), before registering again: the
	// task manager cancels what it ran for the old one.
	Lost func(why error)
}

// Join keeps the task manager registered with the job manager behind conn
// until ctx is done (it returns nil then). It returns early only for
// errors retrying cannot fix: a wrong cluster secret (codes.Unauthenticated)
// or a registration the job manager refuses (codes.InvalidArgument).
func Join(ctx context.Context, conn grpc.ClientConnInterface, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	client := clusterv1.NewClusterClient(conn)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		resp, err := client.RegisterTaskManager(ctx, &clusterv1.RegisterTaskManagerRequest{
			Id: cfg.ID, Address: cfg.Address, Slots: int32(cfg.Slots), Version: cfg.Version,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			switch status.Code(err) {
			case codes.Unauthenticated, codes.InvalidArgument, codes.PermissionDenied:
				return fmt.Errorf("taskmanager %s: registering with the job manager: %w", cfg.ID, err)
			}
			cfg.Logger.Warn("cannot register with the job manager; retrying", "taskmanager", cfg.ID, "err", err, "in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, cfg.MaxBackoff)
			continue
		}
		backoff = 50 * time.Millisecond
		cfg.Logger.Info("registered with the job manager", "taskmanager", cfg.ID, "slots", cfg.Slots)
		if cfg.Registered != nil {
			cfg.Registered(resp.GetRegistration())
		}
		err = heartbeat(ctx, client, cfg, resp)
		if ctx.Err() != nil {
			return nil
		}
		if status.Code(err) == codes.Unauthenticated {
			return fmt.Errorf("taskmanager %s: heartbeat: %w", cfg.ID, err)
		}
		cfg.Logger.Warn("registering again with the job manager", "taskmanager", cfg.ID, "why", err)
		if cfg.Lost != nil {
			cfg.Lost(err)
		}
	}
	return nil
}

// errReregister says the job manager asked for a new registration.
var errReregister = errors.New("the job manager does not know this registration")

// heartbeat heartbeats until the job manager asks for a new registration,
// or heartbeats fail for the whole timeout (the job manager has declared
// this task manager lost by then).
func heartbeat(ctx context.Context, client clusterv1.ClusterClient, cfg Config, reg *clusterv1.RegisterTaskManagerResponse) error {
	interval := time.Duration(reg.GetHeartbeatIntervalMs()) * time.Millisecond
	timeout := time.Duration(reg.GetHeartbeatTimeoutMs()) * time.Millisecond
	if interval <= 0 {
		interval = time.Second
	}
	if timeout <= interval {
		timeout = 5 * interval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := client.Heartbeat(cctx, &clusterv1.HeartbeatRequest{Id: cfg.ID, Registration: reg.GetRegistration()})
		cancel()
		switch {
		case err == nil && resp.GetReregister():
			return errReregister
		case err == nil:
			lastOK = time.Now()
		case status.Code(err) == codes.Unauthenticated:
			return err
		case time.Since(lastOK) >= timeout:
			return fmt.Errorf("no heartbeat answered for %s: %w", time.Since(lastOK).Round(time.Millisecond), err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
