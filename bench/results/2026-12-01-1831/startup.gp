set terminal pngcairo size 900,540 font 'sans,10'
set output 'startup.png'
set multiplot layout 1,2 title "Start-up"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set yrange [0:*]
set title "exec to first byte (ms)"
plot 'startup.dat' using 2:xtic(1) notitle
set title "idle RSS (MB)"
plot 'startup.dat' using 3:xtic(1) notitle
unset multiplot
