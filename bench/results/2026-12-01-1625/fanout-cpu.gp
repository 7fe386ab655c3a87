set terminal pngcairo size 900,540 font 'sans,10'
set output 'fanout-cpu.png'
set title "Fan-out to 10,000 subscribers: deliveries per server CPU-second"
set xlabel "publish rate (events/s)"
set ylabel "deliveries per CPU-second"
set logscale x
set key top left
set grid
plot 'fanout-rawsse.dat' using 1:4 with linespoints title 'rawsse', 'fanout-rawsse-before.dat' using 1:4 with linespoints title 'rawsse-before'
