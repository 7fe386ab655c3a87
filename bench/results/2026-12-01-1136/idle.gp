set terminal pngcairo size 900,540 font 'sans,10'
set output 'idle.png'
set title "Idle footprint: server RSS vs open subscribers"
set xlabel "subscribers"
set ylabel "RSS (MB)"
set key top left
set grid
plot 'idle-rawsse.dat' using 1:2 with linespoints title 'rawsse', 'idle-aspnet.dat' using 1:2 with linespoints title 'aspnet'
