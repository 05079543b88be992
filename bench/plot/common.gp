# Shared settings of the benchmark plots (loaded by each script).
set terminal pngcairo size 960,600 font "sans,10" noenhanced
set output out
set title title
set grid
set key top left box opaque
set datafile missing "NaN"
