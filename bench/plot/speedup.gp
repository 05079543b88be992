# Speedup over one device for every model and link (ranks speedup).
load dir."common.gp"
set xlabel "devices (ranks)"
set ylabel "tokens/s relative to 1 device"
set xtics 1
set yrange [0:*]
set offsets 0.2, 0.2, 0, 0
plot x with lines dt 2 lc rgb "black" title "ideal (linear)", \
     for [i=1:words(files)] word(files, i) using 1:2 with linespoints lw 2 pt 7 title columnheader(2)
