package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want Parigot
		str  string
	}{
		{
			name: "a release names its version and wazero's",
			info: &debug.BuildInfo{
				GoVersion: "go1.26.8",
				Main:      debug.Module{Path: "parigot.dev/parigot", Version: "v1.2.3"},
				Deps:      []*debug.Module{{Path: wazeroModule, Version: "v1.12.0"}},
			},
			want: Parigot{Version: "v1.2.3", Go: "go1.26.8", Wazero: "v1.12.0"},
			str:  "v1.2.3",
		},
		{
			name: "a build of a checkout names its commit, and a replaced wazero the replacement",
			info: &debug.BuildInfo{
				GoVersion: "go1.26.8",
				Main:      debug.Module{Path: "parigot.dev/parigot", Version: "(devel)"},
				Deps:      []*debug.Module{{Path: wazeroModule, Version: "v1.0.0", Replace: &debug.Module{Version: "v1.12.0"}}},
				Settings: []debug.BuildSetting{
					{Key: "vcs.revision", Value: "8b100d9c0ffee0123456789"},
					{Key: "vcs.modified", Value: "true"},
				},
			},
			want: Parigot{Version: "(devel)", Revision: "8b100d9c0ffee0123456789", Modified: true, Go: "go1.26.8", Wazero: "v1.12.0"},
			str:  "(devel) 8b100d9c0ffee0123456789 (modified)",
		},
		{
			name: "a binary that records nothing is unknown but for the Go that runs it",
			want: Parigot{Version: Unknown, Go: runtime.Version(), Wazero: Unknown},
			str:  Unknown,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := From(tc.info)
			if got != tc.want {
				t.Errorf("From = %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.str {
				t.Errorf("String = %q, want %q", got.String(), tc.str)
			}
		})
	}
}
