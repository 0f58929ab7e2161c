# bench/run.sh: throughput (one core, two cores, one-core crypto ceiling) and p99 (at peak and at
# 80 % of peak) per scenario. Called with -e "datafile='...'; outfile='...'".
set terminal pngcairo size 1100,760 font "sans,10"
set output outfile
set multiplot layout 2,1 title "stirgate bench/run.sh"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical
set ylabel "requests/s (log scale)"
set logscale y
set yrange [10:*]
set title "Throughput"
plot datafile using 2:xtic(1) title "1 core (CPU 0, 1 I/O thread)", \
     '' using 3 title "2 cores (2 I/O threads)", \
     '' using 4 title "1-core crypto ceiling"
set title "p99 latency"
unset logscale y
set yrange [0:*]
set ylabel "ms"
plot datafile using 5:xtic(1) title "p99 at peak load", \
     '' using 6 title "p99 at 80 % of peak", \
     5 with lines dashtype 2 lw 2 lc rgb "red" title "target 5 ms at 80 %"
unset multiplot
