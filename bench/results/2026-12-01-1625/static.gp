set terminal pngcairo size 900,540 font 'sans,10'
set output 'static.png'
set title "Static files over keep-alive (wrk)"
set ylabel "requests/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top right
set grid ytics
set yrange [0:*]
plot 'static.dat' using 2:xtic(1) title 'publish'
