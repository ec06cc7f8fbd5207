package temporaljoin

import "github.com/eddy-streaming/eddy/engine/internal/gather"

// ref points at a stored row (gather.Ref); nullRef pads with NULLs.
type ref = gather.Ref

var nullRef = gather.NullRef
