//go:build !wasip1

package guest

import "parigot.dev/parigot/runtime/internal/abi"

// Natively there is no host: a guest's plain Go functions can be unit-tested,
// but nothing can be exported, located or called.

func hostExport(string) abi.Status           { return abi.StatusNoHost }
func hostReady() abi.Status                  { return abi.StatusNoHost }
func hostLocate(string) (uint32, abi.Status) { return 0, abi.StatusNoHost }
func hostDispatch(uint32, string, []byte, int64) (uint64, abi.Status) {
	return 0, abi.StatusNoHost
}
func hostPoll(int64, []byte) (uint32, abi.Status)   { return 0, abi.StatusNoHost }
func hostReply(uint64, abi.Code, []byte) abi.Status { return abi.StatusNoHost }
func hostOpen(uint32, string) (uint32, abi.Status)  { return 0, abi.StatusNoHost }
