package org.castellan.bench.soak;

/**
 * A least-squares straight line y = intercept + slope·x through the points whose y is a number,
 * with the standard error of the slope (NaN below three points).
 */
record Fit(double slope, double stderr, double intercept, int points) {

    static Fit of(double[] x, double[] y) {
        int n = 0;
        double sx = 0;
        double sy = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.isNaN(y[i])) continue;
            n++;
            sx += x[i];
            sy += y[i];
        }
        if (n < 2) return new Fit(Double.NaN, Double.NaN, Double.NaN, n);
        double mx = sx / n;
        double my = sy / n;
        double sxx = 0;
        double sxy = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.isNaN(y[i])) continue;
            sxx += (x[i] - mx) * (x[i] - mx);
            sxy += (x[i] - mx) * (y[i] - my);
        }
        if (sxx == 0) return new Fit(Double.NaN, Double.NaN, Double.NaN, n);
        double slope = sxy / sxx;
        double intercept = my - slope * mx;
        double residuals = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.isNaN(y[i])) continue;
            double r = y[i] - intercept - slope * x[i];
            residuals += r * r;
        }
        double stderr = n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : Double.NaN;
        return new Fit(slope, stderr, intercept, n);
    }

    double at(double x) {
        return intercept + slope * x;
    }
}
