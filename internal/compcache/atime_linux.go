package compcache

import "syscall"

func atime(st *syscall.Stat_t) syscall.Timespec { return st.Atim }
