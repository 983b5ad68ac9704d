package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

var referenceColor = color.Gray{Y: 0x90}

// writePlots writes the SVGs the results allow and returns their paths by
// name.
func writePlots(res *results, dir string) (map[string]string, error) {
	plots := map[string]string{}
	write := func(name string, grid [][]*plot.Plot, w, h vg.Length) error {
		path := filepath.Join(dir, name+".svg")
		if err := saveGrid(grid, w, h, path); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		plots[name] = path
		return nil
	}
	if t := res.Throughput; t != nil && len(t.Runs) > 0 {
		grid, err := throughputPlots(t)
		if err != nil {
			return nil, err
		}
		if err := write("throughput", grid, 26*vg.Centimeter, 10*vg.Centimeter); err != nil {
			return nil, err
		}
	}
	if s := res.Scale; s != nil && len(s.Points) > 1 {
		grid, err := scalePlots(s)
		if err != nil {
			return nil, err
		}
		if err := write("scale", grid, 30*vg.Centimeter, 20*vg.Centimeter); err != nil {
			return nil, err
		}
	}
	if a := res.Agg; a != nil && len(a.Points) > 1 {
		xs := make([]float64, len(a.Points))
		ys := make([]float64, len(a.Points))
		for i, p := range a.Points {
			xs[i], ys[i] = float64(p.Rules), p.Seconds*1e3
		}
		p, err := logLog("Aggregation of one tunnel", "rules per tunnel", "time per aggregate (ms)", xs, ys)
		if err != nil {
			return nil, err
		}
		if err := write("aggregation", [][]*plot.Plot{{p}}, 14*vg.Centimeter, 10*vg.Centimeter); err != nil {
			return nil, err
		}
	}
	return plots, nil
}

func saveGrid(grid [][]*plot.Plot, w, h vg.Length, path string) error {
	img := vgsvg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{
		Rows: len(grid), Cols: len(grid[0]),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4),
		PadX: vg.Points(18), PadY: vg.Points(18),
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, row := range grid {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// throughputPlots: writes/s of every run, and the p50/p99 latency medians,
// each system in its colour.
func throughputPlots(t *throughputResult) ([][]*plot.Plot, error) {
	names := []string{"raft-boltdb\n(default)", "raft-wal", "etcd"}
	rounds := maxRound(t)
	tp := plot.New()
	tp.Title.Text = fmt.Sprintf("Writes/s, %d clients, %d B, fsync", t.Clients, t.Size)
	tp.Y.Label.Text = "writes/s"
	tp.Y.Min = 0
	width := vg.Points(40 / float64(max(rounds, 1)))
	for round := 1; round <= rounds; round++ {
		vals := make(plotter.Values, len(systems))
		for i, s := range systems {
			for _, run := range t.Runs {
				if run.Round == round && run.System == s && run.Err == "" {
					vals[i] = run.Result.WritesPerSecond
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.Color = palette[(round-1)%len(palette)]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(round-1)-float64(rounds-1)/2)
		tp.Add(bars)
		tp.Legend.Add(fmt.Sprintf("round %d", round), bars)
	}
	tp.Legend.Top = true
	tp.NominalX(names...)
	tp.Y.Max = headroom(tp.Y.Max)

	sum := summarize(t)
	lp := plot.New()
	lp.Title.Text = "Write latency (median of rounds)"
	lp.Y.Label.Text = "ms"
	lp.Y.Min = 0
	lw := vg.Points(18)
	for k, q := range []struct {
		name string
		v    func(throughputSummary) float64
	}{{"p50", func(s throughputSummary) float64 { return s.P50Ms }}, {"p99", func(s throughputSummary) float64 { return s.P99Ms }}} {
		vals := make(plotter.Values, len(systems))
		for i, s := range systems {
			if v := q.v(sum[s]); !math.IsNaN(v) {
				vals[i] = v
			}
		}
		bars, err := plotter.NewBarChart(vals, lw)
		if err != nil {
			return nil, err
		}
		bars.Color = palette[k]
		bars.LineStyle.Width = 0
		bars.Offset = lw * vg.Length(float64(k)-0.5)
		lp.Add(bars)
		lp.Legend.Add(q.name, bars)
	}
	lp.Legend.Top = true
	lp.NominalX(names...)
	lp.Y.Max = headroom(lp.Y.Max)
	return [][]*plot.Plot{{tp, lp}}, nil
}

func scalePlots(s *scaleResult) ([][]*plot.Plot, error) {
	xs := make([]float64, len(s.Points))
	for i, p := range s.Points {
		xs[i] = float64(p.Fragments)
	}
	const cols = 4
	var grid [][]*plot.Plot
	for i, c := range scaleCosts {
		ys := make([]float64, len(s.Points))
		for j, p := range s.Points {
			ys[j] = c.value(p)
		}
		p, err := logLog(c.name, "fragments", c.unit, xs, ys)
		if err != nil {
			return nil, err
		}
		if i%cols == 0 {
			grid = append(grid, make([]*plot.Plot, cols))
		}
		grid[len(grid)-1][i%cols] = p
	}
	// plot.Align needs every tile; an empty plot fills the rest.
	for j, p := range grid[len(grid)-1] {
		if p == nil {
			e := plot.New()
			e.HideAxes()
			grid[len(grid)-1][j] = e
		}
	}
	return grid, nil
}

// logLog plots ys against xs on log-log axes with a linear reference: the
// line through the first point with slope 1, which is what linear growth
// from the smallest size would cost. Zero or negative values cannot be
// drawn on a log axis and are left out.
func logLog(title, xlabel, ylabel string, xs, ys []float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	var pts plotter.XYs
	for i := range xs {
		if xs[i] > 0 && ys[i] > 0 {
			pts = append(pts, plotter.XY{X: xs[i], Y: ys[i]})
		}
	}
	if len(pts) == 0 {
		p.HideAxes()
		p.Title.Text += " (no data)"
		return p, nil
	}
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = shortTicks{}, shortTicks{}

	x0, y0 := pts[0].X, pts[0].Y
	xMax := pts[len(pts)-1].X
	ref := plotter.XYs{{X: x0, Y: y0}, {X: xMax, Y: y0 * xMax / x0}}
	refLine, err := plotter.NewLine(ref)
	if err != nil {
		return nil, err
	}
	refLine.Color = referenceColor
	refLine.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(refLine)
	p.Legend.Add("linear", refLine)

	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, err
	}
	line.Color = palette[0]
	line.Width = vg.Points(1.5)
	points.Color = palette[0]
	points.Shape = draw.CircleGlyph{}
	p.Add(line, points)
	p.Legend.Add("measured", line, points)
	p.Legend.Top = true
	p.Legend.Left = true
	// Axes from one power of ten to another, so that every axis has
	// labelled ticks even when the values span less than a decade.
	lo, hi := math.Min(y0, y0*xMax/x0), math.Max(y0, y0*xMax/x0)
	for _, pt := range pts {
		lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
	}
	p.Y.Min, p.Y.Max = decadeBelow(lo), decadeAbove(hi)*3 // room for the legend
	p.X.Min, p.X.Max = x0/1.6, xMax*1.6
	return p, nil
}

func decadeBelow(v float64) float64 { return math.Pow(10, math.Floor(math.Log10(v))) }

func decadeAbove(v float64) float64 { return math.Pow(10, math.Ceil(math.Log10(v))) }

// headroom leaves space above the bars for the legend.
func headroom(v float64) float64 { return v * 1.3 }

// shortTicks are plot.LogTicks labelled 10k, 1M rather than 10000, 1e+06.
type shortTicks struct{}

func (shortTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = shortNumber(t.Value)
		}
	}
	return ticks
}

func shortNumber(v float64) string {
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', -1, 64) + "G"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
