# Reads `perf script -F pid,comm,ip,sym` (with call chains) and prints CPU
# microseconds per run by role and by where the time entered the kernel:
# the system call, a page fault, a softirq, or user space. Variables:
# us (microseconds a sample stands for, divided by the runs), prog (the
# program's name). The bench process is the first pid named "throughput";
# a sandbox's processes are the others with that name, its init
# ("ringjail-init") and the program; a pid that was ever the program is
# counted as "program" (its time before execve included).
function flush() {
	if (!have)
		return
	cat = entry != "" ? entry : (kernel ? "kernel, outside any syscall" : "user space")
	if (soft != "")
		cat = "softirq " soft
	ns++
	spid[ns] = pid
	scomm[ns] = comm
	scat[ns] = cat
	if (comm == prog)
		isprog[pid] = 1
	have = 0
}
/^[^\t]/ {
	flush()
	comm = $1
	pid = $2
	have = 1
	entry = soft = prev = prev2 = ""
	kernel = 0
	if (!parent && comm == "throughput")
		parent = pid
	next
}
/^\t/ {
	sym = $2
	if ($1 ~ /^ffffffff/)
		kernel = 1
	if (sym == "do_syscall_64" && entry == "")
		entry = prev == "x64_sys_call" ? prev2 : prev
	if (sym == "exc_page_fault" && entry == "")
		entry = "page fault"
	if (sym == "handle_softirqs" && soft == "")
		soft = prev
	prev2 = prev
	prev = sym
}
END {
	flush()
	for (i = 1; i <= ns; i++) {
		p = spid[i]
		c = scomm[i]
		if (p == parent)
			role = "executor"
		else if (isprog[p])
			role = "program"
		else if (c ~ /^(throughput|ringjail-init)$/)
			role = "init"
		else if (c == "swapper")
			role = "idle"
		else if (c ~ /^(ksoftirqd|kworker|rcu|migration)/)
			role = "kthreads"
		else
			role = "other"
		t[role "\t" scat[i]] += us
		tr[role] += us
	}
	for (r in tr)
		printf "%-9s %7.0f  (all)\n", r, tr[r]
	for (k in t) {
		split(k, a, "\t")
		if (t[k] >= 5)
			printf "%-9s %7.0f  %s\n", a[1], t[k], a[2]
	}
}
