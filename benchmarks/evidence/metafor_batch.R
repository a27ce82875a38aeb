# metafor side of benchmarks/evidence_batch_reml.py: one rma() per group, timed inside R.
#
# Usage: Rscript metafor_batch.R input.csv output.csv [default-check]
# Reading and splitting the CSV are excluded from the fit time. The fit uses a tight threshold
# (1e-10, maxiter 10000). Groups where Fisher scoring still fails are refitted afterwards with
# step halving (stepadj = 0.5), outside the timed loop, to give reference values; they are flagged.
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
t_read <- system.time({
  dat <- read.csv(args[1], colClasses = c("character", "numeric", "numeric"))
  groups <- split(dat[, c("yi", "vi")], factor(dat$group, levels = unique(dat$group)))
})[["elapsed"]]
n <- length(groups)
est <- se <- tau2 <- rep(NA_real_, n)
ok <- rep(TRUE, n)
tight <- list(threshold = 1e-10, maxiter = 10000)
t_fit <- system.time({
  for (i in seq_len(n)) {
    g <- groups[[i]]
    res <- tryCatch(rma(g$yi, g$vi, method = "REML", control = tight), error = function(e) NULL)
    if (is.null(res)) {
      ok[i] <- FALSE
    } else {
      est[i] <- res$beta[1]; se[i] <- res$se; tau2[i] <- res$tau2
    }
  }
})[["elapsed"]]
failed <- which(!ok)
t_refit <- system.time({
  for (i in failed) {
    g <- groups[[i]]
    res <- tryCatch(rma(g$yi, g$vi, method = "REML",
                        control = list(threshold = 1e-10, maxiter = 1e6, stepadj = 0.5)),
                    error = function(e) NULL)
    if (!is.null(res)) { est[i] <- res$beta[1]; se[i] <- res$se; tau2[i] <- res$tau2 }
  }
})[["elapsed"]]
default_failures <- NA
t_default <- NA
if (length(args) >= 3 && args[3] == "default-check") {
  t_default <- system.time({
    default_failures <- sum(vapply(groups, function(g) {
      is.null(tryCatch(rma(g$yi, g$vi, method = "REML"), error = function(e) NULL))
    }, logical(1)))
  })[["elapsed"]]
}
write.csv(data.frame(group = names(groups), estimate = sprintf("%.17g", est),
                     se = sprintf("%.17g", se), tau2 = sprintf("%.17g", tau2),
                     fisher_converged = ok),
          args[2], row.names = FALSE, quote = FALSE)
cat(sprintf("METAFOR {\"groups\": %d, \"read_seconds\": %.4f, \"fit_seconds\": %.4f, \"tight_failures\": %d, \"refit_seconds\": %.4f, \"default_failures\": %s, \"default_fit_seconds\": %s, \"metafor_version\": \"%s\"}\n",
            n, t_read, t_fit, length(failed), t_refit,
            ifelse(is.na(default_failures), "null", default_failures),
            ifelse(is.na(t_default), "null", sprintf("%.4f", t_default)),
            as.character(packageVersion("metafor"))))
