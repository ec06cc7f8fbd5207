package builtin

import (
	"os"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/blackhole"
	"github.com/eddy-streaming/eddy/connectors/datagen"
	"github.com/eddy-streaming/eddy/connectors/filesystem"
	"github.com/eddy-streaming/eddy/connectors/kafka"
	"github.com/eddy-streaming/eddy/connectors/nexmark"
	"github.com/eddy-streaming/eddy/connectors/print"
)

// Factories returns a new instance of every built-in connector factory;
// print writes to os.Stdout and os.Stderr.
func Factories() []connectors.Factory {
	return []connectors.Factory{
		datagen.New(),
		filesystem.New(),
		print.New(os.Stdout, os.Stderr),
		blackhole.New(),
		nexmark.New(),
		kafka.New(),
		kafka.NewUpsert(),
	}
}

// Registry returns a new registry with every built-in connector.
func Registry() *connectors.Registry {
	r := connectors.NewRegistry()
	for _, f := range Factories() {
		// The built-in names are distinct (TestRegistry checks), so
		// Register cannot fail on a fresh registry.
		_ = r.Register(f)
	}
	return r
}
