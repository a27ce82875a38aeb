# Reference suite for myoivig.evidence: metafor's answers on many datasets, written as JSON.
#
# Run (needs R with metafor, metadat and jsonlite; Debian: apt-get install r-cran-metafor):
#   Rscript tests/evidence/reference/make_metafor_reference.R tests/evidence/fixtures/metafor_reference.json
#
# Every dataset is stored in the JSON with its raw columns, so the Python tests need no R.
# Iterative estimators run with tight settings (threshold 1e-12, uniroot tol 1e-12) so that
# metafor's answer is the exact solution, not its default 1e-5 approximation.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "metafor_reference.json"

METHODS <- c("EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM")

control_for <- function(method) {
  if (method %in% c("ML", "REML", "EB")) return(list(threshold = 1e-12, maxiter = 10000))
  if (method == "PM") return(list(tol = 1e-12, maxiter = 10000))
  list()
}

datasets <- list()
cases <- list()
add_case <- function(case) cases[[length(cases) + 1]] <<- case
num <- function(x) if (is.null(x)) NA else unname(as.numeric(x))

# ---------------------------------------------------------------- datasets ----------------
bcg <- dat.bcg
datasets$bcg <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg,
                     ablat = bcg$ablat, year = bcg$year, alloc = as.character(bcg$alloc))
pr <- dat.pritz1997
datasets$pritz1997 <- list(xi = pr$xi, ni = pr$ni)
db <- dat.debruin2009
datasets$debruin2009 <- list(xi = db$xi, ni = db$ni, ethnicity = as.character(db$ethnicity),
                             scq = db$scq)
nm <- dat.normand1999
datasets$normand1999 <- list(m1i = nm$m1i, sd1i = nm$sd1i, n1i = nm$n1i,
                             m2i = nm$m2i, sd2i = nm$sd2i, n2i = nm$n2i)
eg <- dat.egger2001
datasets$egger2001 <- list(ai = eg$ai, n1i = eg$n1i, ci = eg$ci, n2i = eg$n2i)
datasets$egger2001_no_isis <- list(ai = eg$ai[-16], n1i = eg$n1i[-16], ci = eg$ci[-16],
                                   n2i = eg$n2i[-16])
hk <- dat.hackshaw1998
datasets$hackshaw1998 <- list(estimate = hk$or, ci_lower = hk$or.lb, ci_upper = hk$or.ub)
datasets$zero_cells <- list(ai = c(0, 2, 5, 0), n1i = c(20, 25, 30, 15),
                            ci = c(3, 6, 9, 0), n2i = c(20, 24, 31, 15))
datasets$prop_extremes <- list(xi = c(10, 12, 0, 7), ni = c(10, 15, 8, 9))
datasets$miller <- list(xi = c(3, 6, 10, 1), ni = c(11, 17, 21, 6))
datasets$kacker <- list(yi = c(61.0, 61.4, 62.21, 62.3, 62.34, 62.6, 62.7, 62.84, 65.9),
                        vi = c(0.2025, 1.21, 0.09, 0.2025, 0.3844, 0.5625, 0.0676, 0.0225, 1.8225))
datasets$homog5 <- list(yi = c(0.10, 0.12, 0.11, 0.09, 0.13), vi = c(0.01, 0.02, 0.015, 0.012, 0.018))
datasets$convergence1 <- list(
  yi = c(-0.47, -1.56, 0.18, 0.88, 0.74, 0.89, -0.05, 0.52, 2.08, 0.81),
  vi = c(0.663, 0.660, 0.125, 0.068, 0.971, 0.094, 0.509, 0.887, 0.704, 0.556))
datasets$fisher_fails <- list(
  yi = c(-0.0861, 1.2209, 0.0616, 0.3498, 0.3587, -0.0858, 0.7467, 0.5364, 0.6451, 0.8593),
  vi = c(0.2094, 0.0251, 0.67, 0.6657, 0.426, 0.3272, 0.1467, 0.5704, 0.4525, 0.8285))
datasets$pymare <- list(yi = c(-1, 0.5, 0.5, 0.5, 1, 1, 2, 10), vi = c(1, 1, 2.4, 0.5, 1, 1, 1.2, 1.5),
                        x = c(1, 1, 2, 2, 4, 4, 2.8, 2.8))
datasets$k2 <- list(yi = c(0.1, 0.5), vi = c(0.04, 0.09))
# All effects equal: residual SS 0 (Knapp-Hartung SE 0, QM NA) and SJ's starting value 0.
datasets$equal4 <- list(yi = c(0.3, 0.3, 0.3, 0.3), vi = c(0.1, 0.2, 0.05, 0.3))

# Synthetic data: k = 2..50, homogeneous and heterogeneous, zero cells, 0 % and 100 % arms.
set.seed(20261122)
sim_k <- c(2, 3, 4, 5, 7, 10, 15, 20, 30, 50)
for (k in sim_k) {
  for (tau in c(0, 0.6)) {
    tag <- sprintf("k%02d_%s", k, ifelse(tau == 0, "hom", "het"))
    # two-group binary with small arms, so zero cells occur
    n1 <- sample(8:60, k, replace = TRUE); n2 <- sample(8:60, k, replace = TRUE)
    pc <- runif(k, 0.03, 0.4)
    lor <- rnorm(k, -0.4, tau)
    pt <- plogis(qlogis(pc) + lor)
    a <- rbinom(k, n1, pt); c <- rbinom(k, n2, pc)
    datasets[[paste0("bin_", tag)]] <- list(ai = a, n1i = n1, ci = c, n2i = n2)
    # single-group proportions near 1 (response rates), many 100 % arms
    ni <- sample(4:40, k, replace = TRUE)
    p <- plogis(rnorm(k, 1.6, tau * 1.5))
    datasets[[paste0("prop_", tag)]] <- list(xi = rbinom(k, ni, p), ni = ni)
    # two-group means
    n1 <- sample(5:80, k, replace = TRUE); n2 <- sample(5:80, k, replace = TRUE)
    d <- rnorm(k, 0.3, tau)
    sd1 <- runif(k, 5, 15); sd2 <- runif(k, 5, 15)
    m2 <- runif(k, 40, 60)
    m1 <- m2 + d * (sd1 + sd2) / 2 + rnorm(k, 0, sqrt(1 / n1 + 1 / n2) * 10)
    datasets[[paste0("means_", tag)]] <- list(m1i = m1, sd1i = sd1, n1i = n1,
                                              m2i = m2, sd2i = sd2, n2i = n2)
    # pre-post means (SMCR)
    npp <- sample(6:50, k, replace = TRUE)
    sdpre <- runif(k, 4, 12)
    datasets[[paste0("prepost_", tag)]] <- list(
      m1i = 50 + rnorm(k, 0.5, tau) * sdpre, m2i = rep(50, k), sd1i = sdpre, ni = npp,
      ri = runif(k, 0.2, 0.9))
    # generic yi/vi with a moderator
    vi <- runif(k, 0.01, 1)
    xmod <- round(runif(k, 0, 10), 2)
    datasets[[paste0("gen_", tag)]] <- list(yi = rnorm(k, 0.2 + 0.05 * xmod, sqrt(vi + tau^2)),
                                            vi = vi, x = xmod)
  }
}

ds <- function(name) datasets[[name]]

es_for <- function(dsname, measure, extra = list()) {
  d <- ds(dsname)
  if (measure %in% c("PR", "PLO", "PAS", "PFT")) {
    return(do.call(escalc, c(list(measure = measure, xi = d$xi, ni = d$ni), extra)))
  }
  if (measure %in% c("OR", "RR", "RD", "PETO")) {
    if (!is.null(d$bi)) {
      return(do.call(escalc, c(list(measure = measure, ai = d$ai, bi = d$bi, ci = d$ci, di = d$di), extra)))
    }
    return(do.call(escalc, c(list(measure = measure, ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i), extra)))
  }
  if (measure %in% c("MD", "SMD", "ROM")) {
    return(do.call(escalc, c(list(measure = measure, m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i,
                                  m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i), extra)))
  }
  if (measure == "SMCR") {
    return(escalc(measure = "SMCR", m1i = d$m1i, m2i = d$m2i, sd1i = d$sd1i, ni = d$ni, ri = d$ri))
  }
  if (measure == "GEN") {
    if (!is.null(d$estimate)) {
      yi <- log(d$estimate)
      vi <- ((log(d$ci_upper) - log(d$ci_lower)) / (2 * qnorm(0.975)))^2
      return(data.frame(yi = yi, vi = vi))
    }
    return(data.frame(yi = d$yi, vi = d$vi))
  }
  stop("unknown measure")
}

transf_for <- function(measure, es) {
  if (measure == "PLO") return(list(f = transf.ilogit, targs = NULL))
  if (measure == "PAS") return(list(f = transf.iarcsin, targs = NULL))
  if (measure == "PFT") return(list(f = transf.ipft.hm, targs = list(ni = attr(es$yi, "ni"))))
  if (measure %in% c("OR", "RR", "PETO", "ROM")) return(list(f = exp, targs = NULL))
  NULL
}

try_rma <- function(es, method, test, mods = NULL) {
  run <- function(ctrl) {
    args <- list(yi = es$yi, vi = es$vi, method = method, test = test, control = ctrl)
    if (!is.null(mods)) args$mods <- mods
    try(suppressWarnings(do.call(rma, args)), silent = TRUE)
  }
  ctrl <- control_for(method)
  res <- run(ctrl)
  if (inherits(res, "try-error") && method %in% c("ML", "REML", "EB")) {
    ctrl$stepadj <- 0.25
    ctrl$maxiter <- 1e6
    res <- run(ctrl)
  }
  res
}

rma_values <- function(res, measure, es) {
  out <- list(k = res$k, beta = num(res$beta), se = num(res$se), zval = num(res$zval),
              pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
              tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), I2 = num(res$I2),
              H2 = num(res$H2), QE = num(res$QE), QEp = num(res$QEp), QM = num(res$QM),
              QMp = num(res$QMp), R2 = if (is.null(res$R2)) NA else num(res$R2))
  if (!res$int.only && !(res$method %in% c("EE", "FE"))) {
    # tau2 of the intercept-only model, the denominator of metafor's pseudo R^2
    r0 <- try_rma(es, res$method, "z")
    out$tau2_RE <- if (inherits(r0, "try-error")) NA else num(r0$tau2)
  }
  if (res$int.only) {
    p <- predict(res)
    out$pred <- num(p$pred); out$pi_lb <- num(p$pi.lb); out$pi_ub <- num(p$pi.ub)
    tr <- transf_for(measure, es)
    if (!is.null(tr)) {
      pt <- if (is.null(tr$targs)) predict(res, transf = tr$f) else predict(res, transf = tr$f, targs = tr$targs)
      out$nat_pred <- num(pt$pred); out$nat_ci_lb <- num(pt$ci.lb); out$nat_ci_ub <- num(pt$ci.ub)
      out$nat_pi_lb <- num(pt$pi.lb); out$nat_pi_ub <- num(pt$pi.ub)
    }
  }
  if (!(res$method %in% c("EE", "FE")) && res$k - res$p >= 1) {
    ci <- try(suppressWarnings(confint(res, control = list(tol = 1e-12, maxiter = 10000))), silent = TRUE)
    if (!inherits(ci, "try-error")) {
      r <- ci$random
      out$tau2_ci <- num(r[1, 2:3]); out$I2_ci <- num(r[3, 2:3]); out$H2_ci <- num(r[4, 2:3])
    }
  }
  out
}

# ---------------------------------------------------------------- escalc cases -------------
escalc_case <- function(dsname, measure, extra = list()) {
  es <- es_for(dsname, measure, extra)
  add_case(list(kind = "escalc", dataset = dsname, measure = measure, options = extra,
                yi = num(es$yi), vi = num(es$vi)))
}

prop_sets <- c("pritz1997", "debruin2009", "prop_extremes", "miller",
               grep("^prop_", names(datasets), value = TRUE))
bin_sets <- c("bcg", "egger2001", "zero_cells", grep("^bin_", names(datasets), value = TRUE))
mean_sets <- c("normand1999", grep("^means_", names(datasets), value = TRUE))
pp_sets <- grep("^prepost_", names(datasets), value = TRUE)
gen_sets <- c("kacker", "homog5", "convergence1", "fisher_fails", "pymare", "k2", "equal4",
              "hackshaw1998",
              grep("^gen_", names(datasets), value = TRUE))

for (s in prop_sets) for (m in c("PR", "PLO", "PAS", "PFT")) escalc_case(s, m)
for (s in bin_sets) for (m in c("OR", "RR", "RD", "PETO")) escalc_case(s, m)
for (m in c("OR", "RR", "RD")) {
  escalc_case("zero_cells", m, list(to = "all"))
  escalc_case("zero_cells", m, list(to = "if0all"))
  escalc_case("zero_cells", m, list(drop00 = TRUE))
  escalc_case("zero_cells", m, list(add = 0.25))
}
escalc_case("pritz1997", "PLO", list(to = "all"))
for (s in mean_sets) {
  for (m in c("MD", "SMD", "ROM")) escalc_case(s, m)
  escalc_case(s, "SMD", list(vtype = "UB"))
}
for (s in pp_sets) escalc_case(s, "SMCR")
escalc_case("hackshaw1998", "GEN")

# ---------------------------------------------------------------- rma cases ----------------
rma_case <- function(dsname, measure, method, test = "z", mods = NULL, extra = list()) {
  es <- es_for(dsname, measure, extra)
  X <- if (is.null(mods)) NULL else as.matrix(as.data.frame(ds(dsname)[mods]))
  res <- try_rma(es, method, test, X)
  if (inherits(res, "try-error")) {
    add_case(list(kind = "rma", dataset = dsname, measure = measure, method = method, test = test,
                  mods = mods, options = extra, error = as.character(res)))
    return(invisible(NULL))
  }
  add_case(c(list(kind = "rma", dataset = dsname, measure = measure, method = method, test = test,
                  mods = mods, options = extra), rma_values(res, measure, es)))
}

for (m in METHODS) {
  for (t in c("z", "knha")) {
    rma_case("bcg", "RR", m, t)
    rma_case("bcg", "OR", m, t)
    rma_case("pritz1997", "PLO", m, t)
    rma_case("pritz1997", "PFT", m, t)
    rma_case("debruin2009", "PAS", m, t)
    rma_case("debruin2009", "PR", m, t)
    rma_case("normand1999", "SMD", m, t)
    rma_case("kacker", "GEN", m, t)
    rma_case("convergence1", "GEN", m, t)
    rma_case("fisher_fails", "GEN", m, t)
    rma_case("bcg", "RR", m, t, mods = c("ablat"))
    rma_case("bcg", "RR", m, t, mods = c("ablat", "year"))
    rma_case("pymare", "GEN", m, t, mods = c("x"))
  }
  rma_case("bcg", "RD", m)
  rma_case("normand1999", "MD", m)
  rma_case("normand1999", "ROM", m)
  rma_case("hackshaw1998", "GEN", m)
  rma_case("homog5", "GEN", m)
  rma_case("k2", "GEN", m)
  rma_case("equal4", "GEN", m)
  rma_case("equal4", "GEN", m, "knha")
  rma_case("zero_cells", "OR", m)
  rma_case("zero_cells", "RD", m)
  rma_case("prop_extremes", "PLO", m)
  rma_case("prop_extremes", "PFT", m)
  rma_case("prop_extremes", "PAS", m)
  rma_case("miller", "PFT", m)
  rma_case("debruin2009", "PLO", m, mods = c("scq"))
}
rma_case("bcg", "RR", "REML", "adhoc")
rma_case("homog5", "GEN", "DL", "adhoc")
rma_case("homog5", "GEN", "DL", "t")
rma_case("bcg", "RR", "REML", "t")
rma_case("egger2001_no_isis", "OR", "DL", "adhoc")

for (s in grep("^bin_", names(datasets), value = TRUE)) {
  for (m in METHODS) rma_case(s, "OR", m)
  for (m in c("DL", "REML")) { rma_case(s, "RR", m); rma_case(s, "RD", m); rma_case(s, "PETO", m) }
}
for (s in grep("^prop_", names(datasets), value = TRUE)) {
  for (m in METHODS) rma_case(s, "PLO", m)
  for (m in c("DL", "REML", "PM")) for (ms in c("PFT", "PAS", "PR")) rma_case(s, ms, m, "z")
  rma_case(s, "PLO", "REML", "knha")
}
for (s in grep("^means_", names(datasets), value = TRUE)) {
  for (m in METHODS) rma_case(s, "SMD", m)
  for (m in c("DL", "REML")) { rma_case(s, "MD", m); rma_case(s, "ROM", m); rma_case(s, "SMD", m, "knha") }
}
for (s in pp_sets) for (m in c("DL", "REML", "PM")) rma_case(s, "SMCR", m)
for (s in grep("^gen_", names(datasets), value = TRUE)) {
  for (m in METHODS) { rma_case(s, "GEN", m); rma_case(s, "GEN", m, "knha") }
  k <- length(ds(s)$yi)
  if (k >= 4) for (m in c("DL", "REML", "ML", "PM")) rma_case(s, "GEN", m, mods = c("x"))
}

# ---------------------------------------------------------------- MH and Peto --------------
mh_case <- function(dsname, measure) {
  d <- ds(dsname)
  res <- if (measure == "PETO") {
    if (!is.null(d$bi)) rma.peto(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di)
    else rma.peto(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
  } else {
    if (!is.null(d$bi)) rma.mh(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, measure = measure)
    else rma.mh(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i, measure = measure)
  }
  add_case(list(kind = "mh", dataset = dsname, measure = measure, beta = num(res$beta),
                se = num(res$se), zval = num(res$zval), pval = num(res$pval),
                ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), QE = num(res$QE),
                QEp = num(res$QEp), I2 = num(res$I2), H2 = num(res$H2), k = res$k))
}
for (s in c("bcg", "egger2001", "zero_cells", grep("^bin_k(05|10|20|50)", names(datasets), value = TRUE))) {
  for (m in c("OR", "RR", "RD", "PETO")) {
    r <- try(mh_case(s, m), silent = TRUE)
  }
}

# ---------------------------------------------------------------- views --------------------
l1o_case <- function(dsname, measure, method) {
  es <- es_for(dsname, measure)
  res <- try_rma(es, method, "z")
  l <- as.data.frame(leave1out(res))
  # Where metafor's default Fisher scoring fails (NA row), refit with step halving so the row
  # still has metafor's answer; `fisher_failed` lists those rows (0-based).
  failed <- which(is.na(l$estimate))
  for (i in failed) {
    r <- rma(yi = es$yi[-i], vi = es$vi[-i], method = method,
             control = list(stepadj = 0.5, threshold = 1e-12, maxiter = 1e5))
    l[i, c("estimate", "se", "ci.lb", "ci.ub", "Q", "Qp", "tau2", "I2", "H2")] <-
      c(r$beta, r$se, r$ci.lb, r$ci.ub, r$QE, r$QEp, r$tau2, r$I2, r$H2)
  }
  add_case(list(kind = "leave1out", dataset = dsname, measure = measure, method = method,
                fisher_failed = I(failed - 1),
                estimate = num(l$estimate), se = num(l$se), ci_lb = num(l$ci.lb),
                ci_ub = num(l$ci.ub), Q = num(l$Q), Qp = num(l$Qp), tau2 = num(l$tau2),
                I2 = num(l$I2), H2 = num(l$H2)))
}
l1o_case("bcg", "RR", "REML")
l1o_case("bcg", "RR", "DL")
l1o_case("pritz1997", "PLO", "DL")
l1o_case("egger2001_no_isis", "OR", "REML")
l1o_case("normand1999", "SMD", "PM")

cumul_case <- function(dsname, measure, method, order_col = NULL) {
  es <- es_for(dsname, measure)
  res <- try_rma(es, method, "z")
  # metafor 3.8: `order` is the variable to sort by (not a permutation).
  key <- if (is.null(order_col)) seq_len(res$k) else ds(dsname)[[order_col]]
  ord <- order(key)
  l <- do.call(cumul, list(res, order = key))
  add_case(list(kind = "cumul", dataset = dsname, measure = measure, method = method,
                order = ord - 1, estimate = num(l$estimate), se = num(l$se),
                ci_lb = num(l$ci.lb), ci_ub = num(l$ci.ub), Q = num(l$Q), tau2 = num(l$tau2),
                I2 = num(l$I2)))
}
cumul_case("bcg", "RR", "REML", "year")
cumul_case("bcg", "RR", "DL", "year")
cumul_case("normand1999", "SMD", "DL")

regtest_case <- function(dsname, measure, method, model, predictor) {
  es <- es_for(dsname, measure)
  res <- try_rma(es, method, "z")
  r <- regtest(res, model = model, predictor = predictor)
  add_case(list(kind = "regtest", dataset = dsname, measure = measure, method = method,
                model = model, predictor = predictor, zval = num(r$zval), pval = num(r$pval),
                est = if (is.null(r$est)) NA else num(r$est),
                ci_lb = if (is.null(r$ci.lb)) NA else num(r$ci.lb),
                ci_ub = if (is.null(r$ci.ub)) NA else num(r$ci.ub)))
}
for (model in c("rma", "lm")) {
  for (pred in c("sei", "vi", "ni", "ninv")) {
    regtest_case("egger2001_no_isis", "OR", "REML", model, pred)
    regtest_case("egger2001", "OR", "DL", model, pred)
  }
  regtest_case("bcg", "RR", "REML", model, "sei")
  regtest_case("hackshaw1998", "GEN", "DL", model, "sei")
  regtest_case("normand1999", "SMD", "REML", model, "sei")
  regtest_case("pritz1997", "PLO", "REML", model, "sei")
}

ranktest_case <- function(dsname, measure, method) {
  es <- es_for(dsname, measure)
  res <- try_rma(es, method, "z")
  r <- ranktest(res)
  add_case(list(kind = "ranktest", dataset = dsname, measure = measure, method = method,
                tau = num(r$tau), pval = num(r$pval)))
}
ranktest_case("egger2001_no_isis", "OR", "REML")
ranktest_case("egger2001", "OR", "REML")
ranktest_case("bcg", "RR", "REML")
ranktest_case("normand1999", "SMD", "REML")
ranktest_case("kacker", "GEN", "DL")

trimfill_case <- function(dsname, measure, method, estimator = "L0") {
  es <- es_for(dsname, measure)
  res <- try_rma(es, method, "z")
  tf <- trimfill(res, estimator = estimator, control = control_for(method))
  add_case(list(kind = "trimfill", dataset = dsname, measure = measure, method = method,
                estimator = estimator, k0 = tf$k0, se_k0 = num(tf$se.k0), side = tf$side,
                beta = num(tf$beta), se = num(tf$se), tau2 = num(tf$tau2), QE = num(tf$QE),
                ci_lb = num(tf$ci.lb), ci_ub = num(tf$ci.ub),
                filled_yi = num(tf$yi[tf$fill]), filled_vi = num(tf$vi[tf$fill])))
}
trimfill_case("bcg", "RR", "EE")
trimfill_case("bcg", "RR", "REML")
trimfill_case("bcg", "RR", "DL")
trimfill_case("bcg", "RR", "EE", "R0")
trimfill_case("egger2001_no_isis", "OR", "REML")
trimfill_case("hackshaw1998", "GEN", "DL")
trimfill_case("normand1999", "SMD", "DL")

subgroup_case <- function(dsname, measure, method, by, test = "z") {
  es <- es_for(dsname, measure)
  g <- ds(dsname)[[by]]
  lv <- unique(g)
  fits <- lapply(lv, function(l) {
    sub <- es[g == l, ]
    if (nrow(sub) == 1) rma(yi = sub$yi, vi = sub$vi, method = "EE")
    else try_rma(sub, method, test)
  })
  est <- sapply(fits, function(f) c(f$beta))
  se <- sapply(fits, function(f) f$se)
  case <- list(kind = "subgroup", dataset = dsname, measure = measure, method = method, by = by,
               test = test, groups = lv, estimate = num(est), se = num(se),
               tau2 = num(sapply(fits, function(f) f$tau2)))
  if (test == "z") {
    # separate tau2 per subgroup, fixed-effect Q on the subgroup estimates
    qb <- rma(yi = est, sei = se, method = "EE")
    case$Qb <- num(qb$QE); case$Qbp <- num(qb$QEp)
  } else {
    # what metafor does with a t-based test: the moderator test of rma(mods = ~ factor(by)),
    # an F test with (m, k - p) df and a common tau2
    f <- try_rma(es, method, test, model.matrix(~ factor(g, levels = lv))[, -1, drop = FALSE])
    case$Fb <- num(f$QM); case$Fb_df <- num(f$QMdf); case$Fbp <- num(f$QMp)
  }
  add_case(case)
}
subgroup_case("bcg", "RR", "REML", "alloc")
subgroup_case("bcg", "RR", "DL", "alloc")
subgroup_case("debruin2009", "PLO", "REML", "ethnicity")
subgroup_case("bcg", "RR", "REML", "alloc", "knha")
subgroup_case("bcg", "RR", "DL", "alloc", "knha")
subgroup_case("debruin2009", "PLO", "REML", "ethnicity", "knha")

# ---------------------------------------------------------------- REML Fisher scoring -----
# metafor's own REML Fisher scoring (HE start) on groups where it fails or stops at a local
# maximum: `error` is its message with the given control (null when it converged), `tau2` its
# answer, and `tau2_stepadj` the answer with step halving (stepadj = 0.5), where it converges.
fisher_case <- function(dsname, yi, vi, ctrl) {
  res <- try(suppressWarnings(rma(yi = yi, vi = vi, method = "REML", control = ctrl)), silent = TRUE)
  adj <- suppressWarnings(rma(yi = yi, vi = vi, method = "REML",
                              control = c(ctrl, list(stepadj = 0.5, maxiter = 1e5))))
  add_case(list(kind = "fisher_scoring", dataset = dsname, control = ctrl,
                error = if (inherits(res, "try-error")) conditionMessage(attr(res, "condition")) else NA,
                tau2 = if (inherits(res, "try-error")) NA else num(res$tau2),
                tau2_stepadj = num(adj$tau2), beta_stepadj = num(adj$beta), se_stepadj = num(adj$se)))
}
fisher_case("fisher_fails", ds("fisher_fails")$yi, ds("fisher_fails")$vi, list())
fixture_dir <- dirname(out_path)
for (f in c("reml_metafor_stops_at_zero.csv", "reml_bimodal_groups.csv")) {
  g <- read.csv(file.path(fixture_dir, f), colClasses = c("character", "numeric", "numeric"))
  for (name in unique(g$group)) {
    sub <- g[g$group == name, ]
    datasets[[name]] <- list(yi = sub$yi, vi = sub$vi)
    fisher_case(name, sub$yi, sub$vi, list(threshold = 1e-10, maxiter = 10000))
  }
}

# ---------------------------------------------------------------- GLMM (binomial-normal) ---
glmm_case <- function(dsname) {
  d <- ds(dsname)
  res <- try(suppressWarnings(suppressMessages(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni))),
             silent = TRUE)
  if (inherits(res, "try-error")) return(invisible(NULL))
  p <- predict(res)
  add_case(list(kind = "glmm", dataset = dsname, beta = num(res$beta), se = num(res$se),
                tau2 = num(res$tau2), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
                pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub)))
}
for (s in c("pritz1997", "debruin2009", "prop_extremes", "miller",
            grep("^prop_k(05|10|15|20|30|50)", names(datasets), value = TRUE))) glmm_case(s)

writeLines(toJSON(list(metafor_version = as.character(packageVersion("metafor")),
                       r_version = R.version.string, datasets = datasets, cases = cases),
                  digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
           out_path)
cat(sprintf("wrote %d cases over %d datasets to %s\n", length(cases), length(datasets), out_path))
