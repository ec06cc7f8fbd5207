// Package windowassign implements the window_assign operator ("window_assign"): a window TVF evaluated on its own (HOP and CUMULATE copy rows into their windows; SESSION holds rows until their session closes).
package windowassign
