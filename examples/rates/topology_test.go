//go:build !wasip1

// The topology tests of rates: a service that calls an external HTTP API,
// tested against a stand-in of the API that the test serves on loopback,
// over https as the API is. url_env (RATES_URL) points the app's http
// block at it, ca_file_env (RATES_CA_FILE) makes the block trust its
// certificate, pass_env (RATES_API_KEY) gives the service its key:
// parigot.hcl is not edited.
package rates_test

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	ratesv1 "parigot.dev/parigot/examples/rates/gen/rates/v1"
	"parigot.dev/parigot/examples/rates/ratesapi"
	"parigot.dev/parigot/runtime/apptest"
	"parigot.dev/parigot/runtime/guest"
)

// TestRates runs in both modes: in split mode the request leaves from the
// rates service's own host, and must behave the same. (Under parigot test
// --mode, the pass of the other mode skips each.)
func TestRates(t *testing.T) {
	api := ratesapi.Handler("test-key")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("base") == "DOWN" { // an API in trouble
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "standin-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RATES_CA_FILE", caFile)
	t.Setenv("RATES_URL", srv.URL+"/v1")
	t.Setenv("RATES_API_KEY", "test-key")
	for _, mode := range []apptest.Mode{apptest.Single, apptest.Split} {
		t.Run(string(mode)+" mode", func(t *testing.T) { testRates(t, mode) })
	}
}

func testRates(t *testing.T, mode apptest.Mode) {
	app := apptest.Start(t, ".", mode)
	rates := ratesv1.NewRatesNativeClient(app)

	t.Run("the convert program prints the conversion at the API's rate", func(t *testing.T) {
		res := app.RunProgram(t, "convert")
		if want := "100.00 USD = 92.00 EUR (rate 0.92)\n"; res.Stdout != want || res.ExitCode != 0 {
			t.Errorf("stdout %q, exit code %d; want %q and 0 (stderr %q)", res.Stdout, res.ExitCode, want, res.Stderr)
		}
	})

	for _, tc := range []struct {
		name     string
		from, to string
		want     error
	}{
		{"a currency the API does not rate is not found", "USD", "XYZ", guest.ErrNotFound},
		{"an API that answers 503 makes Convert unavailable", "DOWN", "EUR", guest.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rates.Convert(t.Context(), &ratesv1.ConvertRequest{From: tc.from, To: tc.to, Amount: 1})
			if !errors.Is(err, tc.want) {
				t.Errorf("Convert %s to %s: err = %v, want %v", tc.from, tc.to, err, tc.want)
			}
		})
	}
}
