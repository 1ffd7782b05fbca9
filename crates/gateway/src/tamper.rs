//! Physical tamper detection (NDR 3.11, RE 1): the platform's tamper sensors, read on a fixed
//! interval. A sensor is a file that reads `0` while the enclosure is closed and anything else
//! once it was opened: the chassis intrusion alarm of a hardware monitor
//! (`/sys/class/hwmon/hwmonN/intrusionM_alarm`, which stays `1` until cleared by writing `0`)
//! or a GPIO input wired to a cabinet door switch (`/sys/class/gpio/gpioN/value`). A sensor
//! that cannot be read counts as tampered: a cut wire or a removed module looks the same.
//!
//! This module only reads and compares; the caller audits, notifies and closes traffic.

use std::path::{Path, PathBuf};

use crate::config::{TamperOptions, TamperSensor};

/// Where `auto` looks for chassis intrusion alarms.
pub const HWMON_ROOT: &str = "/sys/class/hwmon";
/// The most bytes of a sensor read: a sysfs attribute is a line.
const MAX_READING_BYTES: u64 = 64;
/// The most sensors watched (`auto` on a host with many hardware monitors included).
pub const MAX_SENSORS: usize = 64;

/// What a sensor says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// It reads 0: closed.
    Closed,
    /// It reads something else (the text read).
    Tampered(String),
    /// It cannot be read (why), which counts as tampered.
    Unreadable(String),
}

impl Reading {
    /// Whether this reading is an alarm.
    pub fn alarm(&self) -> bool {
        !matches!(self, Reading::Closed)
    }

    /// How an alert and the audit trail say it.
    pub fn describe(&self) -> String {
        match self {
            Reading::Closed => "closed (reads 0)".to_owned(),
            Reading::Tampered(text) => format!("TAMPERED (reads {text:?})"),
            Reading::Unreadable(why) => format!("UNREADABLE ({why})"),
        }
    }
}

/// The sensors `options` names, `auto` resolved under `hwmon_root`: every
/// `hwmon*/intrusion*_alarm` there, sorted, then the files named, without repeats, at most
/// [`MAX_SENSORS`].
pub fn sensors(options: &TamperOptions, hwmon_root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for sensor in &options.sensors {
        match sensor {
            TamperSensor::Auto => {
                let mut alarms: Vec<PathBuf> = std::fs::read_dir(hwmon_root)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("hwmon"))
                    .flat_map(|monitor| {
                        std::fs::read_dir(monitor.path())
                            .into_iter()
                            .flatten()
                            .flatten()
                            .filter(|e| {
                                let name = e.file_name().to_string_lossy().into_owned();
                                name.starts_with("intrusion") && name.ends_with("_alarm")
                            })
                            .map(|e| e.path())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                alarms.sort();
                found.extend(alarms);
            }
            TamperSensor::File(path) => found.push(path.clone()),
        }
    }
    let mut unique = Vec::with_capacity(found.len());
    for path in found {
        if !unique.contains(&path) {
            unique.push(path);
        }
    }
    unique.truncate(MAX_SENSORS);
    unique
}

/// Reads one sensor (at most [`MAX_READING_BYTES`]).
pub fn read(path: &Path) -> Reading {
    use std::io::Read as _;
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|file| {
        file.take(MAX_READING_BYTES)
            .read_to_string(&mut text)
            .map(|_| ())
    });
    match read {
        Err(e) => Reading::Unreadable(e.to_string()),
        Ok(()) => match text.trim() {
            "0" => Reading::Closed,
            "" => Reading::Unreadable("it reads nothing".to_owned()),
            other => Reading::Tampered(other.chars().take(16).collect()),
        },
    }
}

/// A change of a sensor between two reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The sensor.
    pub sensor: PathBuf,
    /// Its reading now.
    pub reading: Reading,
}

/// The sensors watched and what each said last.
#[derive(Debug, Clone)]
pub struct TamperWatch {
    sensors: Vec<(PathBuf, Reading)>,
}

impl TamperWatch {
    /// Watches `sensors`, as if each had last read closed: a sensor already in alarm is a
    /// change on the first [`TamperWatch::poll`].
    pub fn new(sensors: Vec<PathBuf>) -> TamperWatch {
        TamperWatch {
            sensors: sensors.into_iter().map(|s| (s, Reading::Closed)).collect(),
        }
    }

    /// The sensors watched.
    pub fn sensors(&self) -> impl Iterator<Item = &Path> {
        self.sensors.iter().map(|(s, _)| s.as_path())
    }

    /// Whether any sensor was in alarm at the last poll.
    pub fn alarm(&self) -> bool {
        self.sensors.iter().any(|(_, r)| r.alarm())
    }

    /// Reads every sensor; the ones whose alarm state changed (into or out of alarm).
    pub fn poll(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        for (sensor, last) in &mut self.sensors {
            let now = read(sensor);
            if now.alarm() != last.alarm() {
                changes.push(Change {
                    sensor: sensor.clone(),
                    reading: now.clone(),
                });
            }
            *last = now;
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn options(sensors: Vec<TamperSensor>) -> TamperOptions {
        TamperOptions {
            sensors,
            interval: Duration::from_secs(1),
            on_tamper: crate::config::OnTamper::Alert,
        }
    }

    #[test]
    fn auto_finds_the_chassis_intrusion_alarms_of_every_hardware_monitor() {
        let root = tempfile::tempdir().unwrap();
        for (monitor, files) in [
            ("hwmon0", &["temp1_input", "intrusion0_alarm"][..]),
            (
                "hwmon1",
                &["intrusion1_alarm", "intrusion0_alarm", "fan1_input"][..],
            ),
            ("other", &["intrusion0_alarm"][..]),
        ] {
            std::fs::create_dir(root.path().join(monitor)).unwrap();
            for file in files {
                std::fs::write(root.path().join(monitor).join(file), "0\n").unwrap();
            }
        }
        let door = root.path().join("door");
        let found = sensors(
            &options(vec![
                TamperSensor::Auto,
                TamperSensor::File(door.clone()),
                TamperSensor::File(root.path().join("hwmon0/intrusion0_alarm")),
            ]),
            root.path(),
        );
        assert_eq!(
            found,
            [
                root.path().join("hwmon0/intrusion0_alarm"),
                root.path().join("hwmon1/intrusion0_alarm"),
                root.path().join("hwmon1/intrusion1_alarm"),
                door,
            ]
        );
        assert!(
            sensors(
                &options(vec![TamperSensor::Auto]),
                &root.path().join("none")
            )
            .is_empty()
        );
    }

    #[test]
    fn a_sensor_reads_closed_tampered_or_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let sensor = dir.path().join("intrusion0_alarm");
        std::fs::write(&sensor, "0\n").unwrap();
        assert_eq!(read(&sensor), Reading::Closed);
        std::fs::write(&sensor, "1\n").unwrap();
        assert_eq!(read(&sensor), Reading::Tampered("1".to_owned()));
        std::fs::write(&sensor, "").unwrap();
        assert!(matches!(read(&sensor), Reading::Unreadable(_)));
        std::fs::write(&sensor, "x".repeat(10_000)).unwrap();
        assert_eq!(read(&sensor), Reading::Tampered("x".repeat(16)));
        assert!(matches!(
            read(&dir.path().join("gone")),
            Reading::Unreadable(_)
        ));
        assert!(Reading::Unreadable(String::new()).alarm());
        assert!(!Reading::Closed.alarm());
    }

    #[test]
    fn a_watch_reports_each_change_into_and_out_of_alarm_once() {
        let dir = tempfile::tempdir().unwrap();
        let (door, lid) = (dir.path().join("door"), dir.path().join("lid"));
        std::fs::write(&door, "0").unwrap();
        std::fs::write(&lid, "1").unwrap();
        let mut watch = TamperWatch::new(vec![door.clone(), lid.clone()]);
        // The lid is open at start: a change on the first poll.
        let first = watch.poll();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].sensor, lid);
        assert!(watch.alarm());
        assert!(watch.poll().is_empty(), "an alarm is reported once");
        std::fs::write(&lid, "0").unwrap();
        std::fs::remove_file(&door).unwrap();
        let changes = watch.poll();
        assert_eq!(changes.len(), 2);
        assert!(matches!(changes[0].reading, Reading::Unreadable(_)));
        assert_eq!(changes[1].reading, Reading::Closed);
        assert!(watch.alarm());
    }
}
