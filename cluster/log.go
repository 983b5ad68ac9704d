package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// levelTrace is the slog level used for hclog's Trace.
const levelTrace = slog.LevelDebug - 4

// hcLogger adapts a *slog.Logger to hclog.Logger, the interface raft logs
// through. The logger name is attached as the "logger" attribute.
type hcLogger struct {
	base    *slog.Logger // without the name attribute
	name    string
	implied []any
	level   *hclog.Level // shared by loggers derived with With/Named
	mu      *sync.Mutex
}

var _ hclog.Logger = (*hcLogger)(nil)

func newHCLogger(l *slog.Logger, name string) *hcLogger {
	lvl := hclog.NoLevel
	return &hcLogger{base: l, name: name, level: &lvl, mu: &sync.Mutex{}}
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (h *hcLogger) logger() *slog.Logger {
	if h.name == "" {
		return h.base
	}
	return h.base.With("logger", h.name)
}

func (h *hcLogger) enabled(l hclog.Level) bool {
	h.mu.Lock()
	min := *h.level
	h.mu.Unlock()
	if min != hclog.NoLevel && l < min {
		return false
	}
	return h.base.Enabled(context.Background(), slogLevel(l))
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || !h.enabled(level) {
		return
	}
	h.logger().Log(context.Background(), slogLevel(level), msg, formatArgs(args)...)
}

// formatArgs renders hclog.Format values (hclog.Fmt) as strings.
func formatArgs(args []any) []any {
	var out []any
	for i, a := range args {
		f, ok := a.(hclog.Format)
		if !ok || len(f) == 0 {
			continue
		}
		format, ok := f[0].(string)
		if !ok {
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = fmt.Sprintf(format, f[1:]...)
	}
	if out == nil {
		return args
	}
	return out
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }
func (h *hcLogger) IsTrace() bool                 { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool                 { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool                  { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool                  { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool                 { return h.enabled(hclog.Error) }
func (h *hcLogger) ImpliedArgs() []any            { return h.implied }
func (h *hcLogger) Name() string                  { return h.name }

func (h *hcLogger) With(args ...any) hclog.Logger {
	c := *h
	c.base = h.base.With(args...)
	c.implied = append(append([]any(nil), h.implied...), args...)
	return &c
}

func (h *hcLogger) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

func (h *hcLogger) SetLevel(level hclog.Level) {
	h.mu.Lock()
	*h.level = level
	h.mu.Unlock()
}

func (h *hcLogger) GetLevel() hclog.Level {
	h.mu.Lock()
	defer h.mu.Unlock()
	return *h.level
}

func (h *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &levelWriter{log: h.logger()}
}

// levelWriter turns standard-library log lines of the form
// "[LEVEL] component: message" (memberlist's format) into slog records.
type levelWriter struct {
	log *slog.Logger
}

// newStdLogger returns a *log.Logger (what memberlist takes) that logs to l.
func newStdLogger(l *slog.Logger) *log.Logger {
	return log.New(&levelWriter{log: l}, "", 0)
}

func (w *levelWriter) Write(p []byte) (int, error) {
	n := len(p)
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		msg := strings.TrimSpace(string(line))
		if msg == "" {
			continue
		}
		level := slog.LevelInfo
		if strings.HasPrefix(msg, "[") {
			if end := strings.IndexByte(msg, ']'); end > 0 {
				switch strings.ToUpper(msg[1:end]) {
				case "TRACE":
					level = levelTrace
				case "DEBUG":
					level = slog.LevelDebug
				case "WARN", "WARNING":
					level = slog.LevelWarn
				case "ERR", "ERROR":
					level = slog.LevelError
				}
				msg = strings.TrimSpace(msg[end+1:])
				msg = strings.TrimPrefix(msg, "memberlist: ")
			}
		}
		if w.log.Enabled(context.Background(), level) {
			w.log.Log(context.Background(), level, msg)
		}
	}
	return n, nil
}
