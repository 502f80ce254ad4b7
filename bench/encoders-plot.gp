# bench/encoders-plot.gp — size-quality curves of bench/encoders.sh
#   gnuplot -e "dir='bench/.cache/encoders'; out='bench/encoders.png'; clips='building baboon'" bench/encoders-plot.gp
# Reads dir/plot-CLIP-ENCODER-FORMAT.dat ("KB SSIM label", in quality order).
# One column per clip. Top row: every output of each clip. Bottom row: zoom on the GIFs.
if (!exists("dir")) dir = 'bench/.cache/encoders'
if (!exists("out")) out = 'bench/encoders.png'
if (!exists("clips")) clips = 'building baboon zoom zoomfly handheld fade'
set terminal pngcairo size 750 * words(clips),1250 font "DejaVu Sans,12"
set output out
set multiplot layout 2,words(clips) title "Size–quality, 4 s clips, 480x270, 12 fps, the same 48 PNG frames for every encoder\nmean SSIM (yuv444p, All) of the decoded frames against the source, aligned by timestamp" font ",13"
set logscale x 10
set format x "%.0f"
set xlabel "file size, KB (log scale)"
set ylabel "mean SSIM"
set grid xtics ytics mxtics
f(clip, enc, fmt) = sprintf("%s/plot-%s-%s-%s.dat", dir, clip, enc, fmt)
TG = "#d62728"; GS = "#1f77b4"; FF = "#2ca02c"; WP = "#9467bd"; MP = "#ff7f0e"
do for [clip in clips] {
    set title "clip ".clip.": all outputs"
    set key at graph 0.02, graph 0.02 left bottom box opaque font ",11"
    set xrange [15:12000]
    set xtics (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
    set autoscale y
    plot f(clip,"thumbgen","gif")  u 1:2 w lp lw 2 pt 7 ps 1.1 lc rgb TG t "thumbgen GIF (Q1–100)", \
         f(clip,"gifski","gif")    u 1:2 w lp lw 2 pt 5 ps 1.1 lc rgb GS t "gifski 1.7.1 GIF (Q30–100)", \
         ''                         u 1:2:3 w labels offset char -2,0.6 font ",9" tc rgb GS notitle, \
         f(clip,"ffmpeg","gif")    u 1:2 w p pt 9 ps 2 lc rgb FF t "ffmpeg palettegen+paletteuse GIF", \
         f(clip,"thumbgen","webp") u 1:2 w lp lw 2 pt 13 ps 1.1 lc rgb WP t "thumbgen WebP (Q50–90; Q100 lossless)", \
         ''                         u 1:2:3 w labels offset char 0,1 font ",9" tc rgb WP notitle, \
         f(clip,"thumbgen","mp4")  u 1:2 w lp lw 2 pt 11 ps 1.1 lc rgb MP t "thumbgen MP4 (Q50–90)", \
         ''                         u 1:2:3 w labels offset char 0,1 font ",9" tc rgb MP notitle
}
do for [clip in clips] {
    set title "clip ".clip.": GIFs only (zoom; thumbgen points labelled below, gifski above)"
    set key default
    set key top left box opaque font ",11"
    # zoom on thumbgen's GIF points (with a margin), where gifski and ffmpeg are compared
    set autoscale xy
    stats f(clip,"thumbgen","gif") u 1:2 nooutput
    set xrange [STATS_min_x * 0.7 : STATS_max_x * 1.3]
    ylo = STATS_min_y; yhi = STATS_max_y
    stats f(clip,"ffmpeg","gif") u 2 nooutput
    ylo = (STATS_min < ylo) ? STATS_min : ylo
    set yrange [ylo - 0.01 : yhi + 0.006]
    set xtics (1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 7000)
    plot f(clip,"thumbgen","gif")  u 1:2 w lp lw 2 pt 7 ps 1.3 lc rgb TG t "thumbgen GIF", \
         ''                         u 1:2:3 w labels offset char 1.5,-0.9 font ",10" tc rgb TG notitle, \
         f(clip,"gifski","gif")    u 1:2 w lp lw 2 pt 5 ps 1.3 lc rgb GS t "gifski GIF", \
         ''                         u 1:2:3 w labels offset char -1.5,0.9 font ",10" tc rgb GS notitle, \
         f(clip,"ffmpeg","gif")    u 1:2 w p pt 9 ps 2.2 lc rgb FF t "ffmpeg recipe", \
         ''                         u 1:2:3 w labels offset char 0,-1.1 font ",10" tc rgb FF notitle
}
unset multiplot
