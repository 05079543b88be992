# Memory per device vs ranks: every rank's weights and peak RSS (points, spread
# around N), the largest rank (lines), and 1-device weights / N.
load dir."common.gp"
set xlabel "devices (ranks)"
set ylabel "MiB"
set xtics 1
set yrange [0:*]
set offsets 0.3, 0.3, 0, 0
set key outside right top
plot maxes using 1:3 with linespoints lw 2 pt 7 lc rgb "#c62828" title columnheader(3), \
     points using 1:3 with points pt 6 ps 1.2 lc rgb "#c62828" title columnheader(3), \
     maxes using 1:2 with linespoints lw 2 pt 5 lc rgb "#1565c0" title columnheader(2), \
     points using 1:2 with points pt 4 ps 1.2 lc rgb "#1565c0" title columnheader(2), \
     maxes using 1:4 with lines dt 2 lc rgb "black" title columnheader(4)
