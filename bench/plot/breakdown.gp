# Per-rank breakdown of the generation time, stacked, in percent of the rank's wall time.
load dir."common.gp"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.8
set ylabel "% of the rank's generation time"
set yrange [0:105]
set xtics rotate by -45
set key outside right top
plot file using 2:xtic(1) title columnheader(2) lc rgb "#2e7d32", \
     '' using 3 title columnheader(3) lc rgb "#1565c0", \
     '' using 4 title columnheader(4) lc rgb "#ef6c00", \
     '' using 5 title columnheader(5) lc rgb "#9e9e9e"
