package liveroom

import (
	"embed"
	"fmt"
)

//go:embed *.sql
var files embed.FS

// Jobs lists the example jobs, by file name without ".sql", in the order
// of the live-room workload's job list.
var Jobs = []string{"top_gifts", "revenue_today", "comment_trends", "watch_sessions", "hot_rooms", "top_gifters",
	"enriched_gifts", "first_gift_per_day"}

// Script returns the SQL text of job.
func Script(job string) (string, error) {
	b, err := files.ReadFile(job + ".sql")
	if err != nil {
		return "", fmt.Errorf("live-room job %q: %w", job, err)
	}
	return string(b), nil
}
