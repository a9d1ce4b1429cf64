// Copyright 2026 The zkwatch Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package logging

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// kitHandler is an slog.Handler that writes each record through a go-kit
// logger: ts, caller, level and msg as go-kit lines have them, then the
// record's attributes (group names joined to keys with dots).
type kitHandler struct {
	logger log.Logger // with ts, without caller: the record's PC gives it
	min    slog.Level
	attrs  []any // key/value pairs added by WithAttrs
	prefix string
}

func (h *kitHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *kitHandler) Handle(_ context.Context, r slog.Record) error {
	kv := make([]any, 0, 4+len(h.attrs)+2*r.NumAttrs())
	kv = append(kv, "msg", r.Message)
	kv = append(kv, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		kv = appendAttr(kv, h.prefix, a)
		return true
	})
	l := log.With(h.logger, "caller", caller(r.PC))
	switch {
	case r.Level >= slog.LevelError:
		l = level.Error(l)
	case r.Level >= slog.LevelWarn:
		l = level.Warn(l)
	case r.Level >= slog.LevelInfo:
		l = level.Info(l)
	default:
		l = level.Debug(l)
	}
	return l.Log(kv...)
}

func (h *kitHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]any(nil), h.attrs...)
	for _, a := range attrs {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return &n
}

func (h *kitHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

// appendAttr flattens a into key/value pairs; empty attributes and empty
// groups are dropped, as slog's own handlers do.
func appendAttr(kv []any, prefix string, a slog.Attr) []any {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			kv = appendAttr(kv, p, g)
		}
		return kv
	}
	if a.Key == "" {
		return kv
	}
	return append(kv, prefix+a.Key, v.Any())
}

// caller formats a record's PC as go-kit's DefaultCaller does: file:line.
func caller(pc uintptr) string {
	if pc == 0 {
		return "unknown"
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
}
