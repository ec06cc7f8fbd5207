package nexmark

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// SideInputRows is the number of rows WriteSideInput writes: one per key
// q13 can look up (MOD(auction, 10000) is 0 to 9999).
const SideInputRows = 10_000

// SideInputPath returns the path of q13's side-input file under dir (the
// run's Params.Dir; empty means DefaultDir).
func SideInputPath(dir string) string {
	if dir == "" {
		dir = DefaultDir
	}
	return filepath.Join(dir, "data", "side_input.txt")
}

// WriteSideInput writes q13's bounded side input, SideInputPath(dir): a
// CSV file of (key BIGINT, value VARCHAR) rows, key 0 to SideInputRows-1
// and value the key's decimal text, as Beam's Nexmark fills its side input.
// It creates the directories it needs.
func WriteSideInput(dir string) error {
	path := SideInputPath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("nexmark: side input: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("nexmark: side input: %w", err)
	}
	w := bufio.NewWriter(f)
	for k := 0; k < SideInputRows; k++ {
		fmt.Fprintf(w, "%d,%d\n", k, k)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("nexmark: side input %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("nexmark: side input %s: %w", path, err)
	}
	return nil
}
