# bench/run's figures against the number of peers, from results/latest.tsv (run from bench/).
set datafile separator "\t"
set datafile missing "?"
set terminal pngcairo size 800,500 font ",11"
set key top left
set grid
set xlabel "peers"
set logscale x
set xrange [8:250]
set xtics (10, 20, 50, 100, 200)

set output "p99.png"
set title "delivered-to-all latency, p99 (one sender, 37 ms apart)"
set ylabel "ms"
set logscale y
plot "results/latest.tsv" using 1:3 with linespoints lw 2 pt 7 title "confab", \
     "" using 1:6 with linespoints lw 2 pt 5 title "ngircd"

set output "copies.png"
set title "chat frames received per peer per message"
set ylabel "copies"
unset logscale y
set yrange [0:*]
plot "results/latest.tsv" using 1:10 with linespoints lw 2 pt 7 title "confab", \
     1 with lines dt 2 lw 1 title "one copy"
