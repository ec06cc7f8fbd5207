// Package windowjoin implements the window_join operator ("window_join"): two windowed inputs joined on the same window plus keys, once per window.
package windowjoin
