set terminal pngcairo size 900,540 font 'sans,10'
set output 'cluster-latency.png'
set title "Cluster against one node: p99 latency to every subscriber, and to the first"
set xlabel "publish rate (events/s)"
set ylabel "ms"
set logscale xy
set key top left
set grid
plot 'cluster-rawsse-memory-1node-19000.dat' using 1:3 with linespoints title 'rawsse-memory-1node-19000 p99', '' using 1:5 with linespoints title 'rawsse-memory-1node-19000 first p99', 'cluster-rawsse-nats-5nodes-19000.dat' using 1:3 with linespoints title 'rawsse-nats-5nodes-19000 p99', '' using 1:5 with linespoints title 'rawsse-nats-5nodes-19000 first p99', 'cluster-rawsse-memory-1node-2000.dat' using 1:3 with linespoints title 'rawsse-memory-1node-2000 p99', '' using 1:5 with linespoints title 'rawsse-memory-1node-2000 first p99', 'cluster-rawsse-nats-5nodes-2000.dat' using 1:3 with linespoints title 'rawsse-nats-5nodes-2000 p99', '' using 1:5 with linespoints title 'rawsse-nats-5nodes-2000 first p99'
