# One sequence (B=1, M=1) vs the recurrent pipeline; per file: ranks recurrent single.
load dir."common.gp"
set xlabel "devices (ranks)"
set ylabel "tokens/s"
set xtics 1
set yrange [0:*]
set offsets 0.2, 0.2, 0, 0
plot for [i=1:words(files)] word(files, i) using 1:2 with linespoints lw 2 pt 7 lc i title columnheader(2), \
     for [i=1:words(files)] word(files, i) using 1:3 with linespoints lw 2 dt 3 pt 4 lc i title columnheader(3)
