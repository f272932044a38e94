module regplan.invalid/bench/latencyproxy

go 1.22
