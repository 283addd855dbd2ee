//! Strategies that propose configurations: grid, random, bayes (GP), tpe, evolution.
