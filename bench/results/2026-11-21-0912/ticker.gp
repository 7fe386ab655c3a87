set terminal pngcairo size 900,540 font 'sans,10'
set output 'ticker.png'
set title "Ticker precision (500 ms period)"
set ylabel "ms"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
set grid ytics
plot 'ticker.dat' using 2:xtic(1) title 'jitter p50', '' using 3 title 'jitter p99', '' using 4 title 'spread p50', '' using 5 title 'spread p99'
