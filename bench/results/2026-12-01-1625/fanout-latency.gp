set terminal pngcairo size 900,540 font 'sans,10'
set output 'fanout-latency.png'
set title "Fan-out to 10,000 subscribers: p99 delivery latency"
set xlabel "publish rate (events/s)"
set ylabel "p99 latency (ms)"
set logscale xy
set key top left
set grid
plot 'fanout-rawsse.dat' using 1:3 with linespoints title 'rawsse', 'fanout-rawsse-before.dat' using 1:3 with linespoints title 'rawsse-before'
