# bench/perf.sh: every measure with a target as value / target (1 = the target).
# gnuplot -e "data='perf.dat'; out='perf.png'" perf.gp
set terminal pngcairo size 1100,600 font "sans,10" noenhanced
set output out
set title "mdi_pipeline performance: value / target (>= 1 meets the target)"
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.8
set grid ytics
set yrange [0:*]
set xtics rotate by -35 left
set key off
set bmargin 9
plot data using 2:xtic(1) lc rgb "#4477aa", 1 with lines dt 2 lw 2 lc rgb "black"
