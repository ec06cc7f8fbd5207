package expr

// compileFn compiles a call of a built-in function whose arguments are
// compiled.
type compileFn func(c *compiler, e *Expr, args []*prog) (*prog, error)

// builtins maps the function names of spec.go that compile.go's switch
// does not handle to their compilers.
var builtins map[string]compileFn

func init() {
	builtins = map[string]compileFn{
		FuncLower:      compileChangeCase(false),
		FuncUpper:      compileChangeCase(true),
		FuncInitCap:    compileInitCap,
		FuncConcat:     compileConcat,
		FuncConcatWs:   compileConcatWs,
		FuncSubstring:  compileSubstring,
		FuncCharLength: compileCharLength,
		FuncTrim:       compileTrim(true, true),
		FuncLTrim:      compileTrim(true, false),
		FuncRTrim:      compileTrim(false, true),
		FuncReplace:    compileReplace,
		FuncPosition:   compilePosition,
		FuncLpad:       compilePad(true),
		FuncRpad:       compilePad(false),
		FuncSplitIndex: compileSplitIndex,
		FuncLike:       compileLike,
		FuncRegexp:     compileRegexp,

		FuncRegexpExtract:    compileRegexpExtract,
		FuncExtract:          compileExtract,
		FuncTimestampDiff:    compileTimestampDiff,
		FuncFloorTo:          compileFloorCeilTo(false),
		FuncCeilTo:           compileFloorCeilTo(true),
		FuncDateFormat:       compileDateFormat,
		FuncToTimestamp:      compileToTimestamp,
		FuncToTimestampLtz:   compileToTimestampLtz,
		FuncCurrentTimestamp: compileNow("CURRENT_TIMESTAMP"),
		FuncProcTime:         compileNow("PROCTIME"),
		FuncUnixTimestamp:    compileUnixTimestamp,

		FuncAbs:   compileAbs,
		FuncPower: compileDoubleFunc(FuncPower),
		FuncSqrt:  compileDoubleFunc(FuncSqrt),
		FuncLn:    compileDoubleFunc(FuncLn),
		FuncLog10: compileDoubleFunc(FuncLog10),
		FuncLog2:  compileDoubleFunc(FuncLog2),
		FuncLog:   compileDoubleFunc(FuncLog),
		FuncExp:   compileDoubleFunc(FuncExp),
		FuncRound: compileRound,
		FuncFloor: compileFloorCeil(false),
		FuncCeil:  compileFloorCeil(true),
		FuncRand:  compileRand,

		FuncUDF: compileUDF,
	}
}

// volatile reports whether a call of fn may give a different result each
// time it is evaluated (so it is never folded at Compile): the clock,
// random numbers and user-defined functions (which may be either).
func volatile(fn string) bool {
	switch fn {
	case FuncCurrentTimestamp, FuncProcTime, FuncUnixTimestamp, FuncRand, FuncUDF:
		return true
	}
	return false
}
