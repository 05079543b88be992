# Aggregate tokens/s vs ranks; one series per data file (ranks mean min max ideal),
# the dashed line is each series' 1-device rate times N.
# gnuplot -e 'out="x.png"; title="..."; files="a.dat b.dat"' throughput.gp
load dir."common.gp"
set xlabel "devices (ranks)"
set ylabel "tokens/s (all sequences)"
set xtics 1
set yrange [0:*]
set offsets 0.2, 0.2, 0, 0
plot for [i=1:words(files)] word(files, i) using 1:2:3:4 with yerrorlines lw 2 pt 7 lc i title columnheader(2), \
     for [i=1:words(files)] word(files, i) using 1:5 with lines dt 2 lc i title columnheader(5)
