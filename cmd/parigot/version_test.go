package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/srctree"
)

func TestVersionText(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		tree string
		want []string
	}{
		{
			name: "a released build shows its version and wazero's",
			info: &debug.BuildInfo{
				GoVersion: "go1.26.8",
				Main:      debug.Module{Path: srctree.Module, Version: "v1.2.3"},
				Deps:      []*debug.Module{{Path: wazeroModule, Version: "v1.12.0"}},
			},
			want: []string{"parigot v1.2.3\n", "go      go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n", "wazero  v1.12.0\n"},
		},
		{
			name: "a development build shows its commit",
			info: &debug.BuildInfo{
				Main: debug.Module{Path: srctree.Module, Version: "(devel)"},
				Deps: []*debug.Module{{Path: wazeroModule, Version: "v1.0.0", Replace: &debug.Module{Version: "v1.12.0"}}},
				Settings: []debug.BuildSetting{
					{Key: "vcs.revision", Value: "8b100d9c0ffee0123456789"},
					{Key: "vcs.modified", Value: "true"},
				},
			},
			tree: "/home/you/parigot",
			want: []string{"parigot (devel) (commit 8b100d9c0ffe, modified)\ntree    /home/you/parigot\ngo ", "wazero  v1.12.0\n"},
		},
		{
			name: "no build information still prints every line",
			want: []string{"parigot (unknown)\ngo      " + runtime.Version(), "wazero  (unknown)\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := versionText(tc.info, tc.tree)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
